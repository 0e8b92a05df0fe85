import ArgumentParser
import Foundation
import RunwayHTTP
import RunwayServer
import RunwayStore

/// Where `status`, `logs` and `explain` read: the state dir on this machine, the PostgreSQL
/// store replicas share (`--store`), or a running controller's read API (`--server`), which is
/// how an operator reads a controller in a pod.
struct ReadOptions: ParsableArguments {
    @OptionGroup var state: StateOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read a running controller's API at this URL instead of --state-dir. Env: RUNWAY_SERVER.",
            discussion: "Sends the API token: RUNWAY_API_TOKEN, else the file RUNWAY_API_TOKEN_FILE names, else (for a controller on this machine) the one in --state-dir. Trusts the CA in RUNWAY_SERVER_CA for https."))
    var server: String = Environment.string("RUNWAY_SERVER", default: "")

    func source() async throws -> JobSource {
        if server.isEmpty, let url = storeOptions.store, !url.isEmpty {
            let store = try await storeOptions.open(stateDirectory: state.stateDir, observer: nil)
            let place = (try? PostgresStateStore.Location(url: url).description).map { "in \($0)" } ?? "in the store"
            return .local(store: store, logs: LogFiles(directory: state.stateDir + "/logs"), place: place)
        }
        if server.isEmpty {
            let store = try Wiring.requireStore(state.stateDir)
            return .local(store: store, logs: LogFiles(directory: state.stateDir + "/logs"), place: "in \(state.stateDir)")
        }
        guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
            throw ValidationError("--server must be an http:// or https:// URL, got '\(server)'")
        }
        var configuration = HTTPClient.Configuration()
        configuration.tls.certificateAuthority = Environment.optional("RUNWAY_SERVER_CA").map(TLSOptions.Source.fileOrPEM)
        let client = ReadClient(
            baseURL: server.hasSuffix("/") ? String(server.dropLast()) : server,
            token: try APIToken.forReading(server: server, stateDirectory: state.stateDir), http: HTTPClient(configuration: configuration))
        return .remote(client)
    }
}

/// Jobs, their detail and their logs, from either place.
enum JobSource {
    case local(store: any StateStore, logs: LogFiles, place: String)
    case remote(ReadClient)

    /// "in ./.runway" or "at https://…", for messages.
    var place: String {
        switch self {
        case .local(_, _, let place): place
        case .remote(let client): "at \(client.baseURL)"
        }
    }

    /// The latest generation of every job, by name.
    func jobs() async throws -> [JobStatusDocument] {
        switch self {
        case .local(let store, _, _):
            return JobStatusDocument.latest(of: try await store.jobRecords())
        case .remote(let client):
            return try await client.json([JobStatusDocument].self, "/v1/jobs") ?? []
        }
    }

    func detail(job: String) async throws -> JobDetailDocument? {
        switch self {
        case .local(let store, _, _): try await JobDetailDocument.load(job: job, from: store)
        case .remote(let client): try await client.json(JobDetailDocument.self, "/v1/jobs/\(ReadClient.escape(job))")
        }
    }

    /// Hands `out` the output of the job's attempt (its latest when nil) a piece at a time, never
    /// all of it at once; false when the job has no such attempt.
    func logs(job: String, run: Int? = nil, attempt: Int?, to out: ([UInt8]) async throws -> Void) async throws -> Bool {
        switch self {
        case .local(let store, let files, _):
            guard let record = try await JobLogs.attempt(job: job, run: run, number: attempt, store: store) else { return false }
            try await JobLogs.stream(record, 0..<record.logBytes, store: store, files: files, out)
            return true
        case .remote(let client):
            let parameters = [run.map { "run=\($0)" }, attempt.map { "attempt=\($0)" }].compactMap { $0 }
            let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
            return try await client.stream("/v1/jobs/\(ReadClient.escape(job))/logs\(query)", to: out)
        }
    }

    /// A warning to print above the jobs: the manifests are invalid (local), or the controller
    /// says it is not ready (remote, from `/readyz`).
    func warning() async throws -> String? {
        switch self {
        case .local(let store, _, _):
            let facts = try await store.controllerFacts()
            guard facts["manifests.valid"] == "false" else { return nil }
            let errors = (facts["manifests.errors"] ?? "").split(separator: "\n")
            return "WARNING: the manifests are invalid (checked \(facts["manifests.checked-at"] ?? "?")); "
                + "the controller keeps the last good ones in force. \(errors.count) error(s):\n"
                + errors.prefix(5).map { "  \($0)\n" }.joined()
        case .remote(let client):
            let response = try await client.send("/readyz")
            guard response.status != 200 else { return nil }
            return "WARNING: the controller is not ready: \(response.text.trimmingCharacters(in: .whitespacesAndNewlines))\n"
        }
    }
}

/// GETs on a controller's read API, with its bearer token.
struct ReadClient: Sendable {
    let baseURL: String
    let token: String?
    let http: HTTPClient

    /// The body of a 200, nil for a 404; any other answer is an error saying what the server said.
    func get(_ path: String) async throws -> [UInt8]? {
        let response = try await send(path)
        guard response.status == 200 else {
            try refusal(path, status: response.status, text: response.text)
            return nil
        }
        return response.body
    }

    /// Returns for a 404 (nothing there); throws, saying what the server said, for anything else.
    private func refusal(_ path: String, status: Int, text: String) throws {
        switch status {
        case 404: return
        case 401:
            throw failure(
                "\(baseURL) refused the call: \(token == nil ? "set RUNWAY_API_TOKEN (or RUNWAY_API_TOKEN_FILE) to its API token" : "the token sent is not its API token")",
                .failure)
        default:
            throw failure("\(baseURL)\(path) answered HTTP \(status): \(text.prefix(200))", .failure)
        }
    }

    var headers: [(String, String)] {
        [("Accept", "application/json")] + (token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Hands `out` the body of a 200 as it arrives; false for a 404; any other answer is an error.
    func stream(_ path: String, to out: ([UInt8]) async throws -> Void) async throws -> Bool {
        let response: HTTPStreamingResponse
        do {
            response = try await http.stream(HTTPRequest(method: "GET", url: baseURL + path, headers: headers))
        } catch {
            throw failure("cannot read the controller: \(error)", .failure)
        }
        guard response.status == 200 else {
            let text = String(decoding: (try? await response.collect(limit: 4096)) ?? [], as: UTF8.self)
            try refusal(path, status: response.status, text: text)
            return false
        }
        for try await piece in response.body { try await out(piece) }
        return true
    }

    func json<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T? {
        guard let body = try await get(path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(body))
        } catch {
            throw failure("\(baseURL)\(path) answered with JSON this runway cannot read: \(error)", .failure)
        }
    }

    func send(_ path: String, method: String = "GET", body: [UInt8]? = nil) async throws -> HTTPResponse {
        let headers = body == nil ? headers : headers + [("Content-Type", "application/json")]
        do {
            return try await http.send(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body))
        } catch {
            throw failure("cannot reach the controller: \(error)", .failure)
        }
    }

    /// POSTs `body` as JSON and decodes a 2xx answer; a 404 is nil, anything else an error.
    func post<T: Decodable>(_ type: T.Type, _ path: String, body: some Encodable) async throws -> T? {
        let response = try await send(path, method: "POST", body: Array(try JSONEncoder().encode(body)))
        guard (200..<300).contains(response.status) else {
            try refusal(path, status: response.status, text: response.text)
            return nil
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(response.body))
        } catch {
            throw failure("\(baseURL)\(path) answered with JSON this runway cannot read: \(error)", .failure)
        }
    }

    /// A job name as one path segment.
    static func escape(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? name
    }
}
