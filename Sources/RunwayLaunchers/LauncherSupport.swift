import Foundation
import RunwayHTTP
import RunwayManifests
import RunwayModel
import Synchronization

/// A launcher's profile config: every key optional, read with diagnostics.
protocol LauncherSettings: Sendable {
    init()
    init(_ node: ConfigNode, diagnostics: inout [Diagnostic])
}

/// The longest durations a launcher config may set: past these a value is a mistake, and some
/// (a grace in nanoseconds, say) would not even fit the platform's field.
enum LauncherLimits {
    /// `grace`: a stop's wait between SIGTERM and SIGKILL.
    static let grace: Duration = .seconds(3600)
    /// How long a task may wait to be placed (`placementTimeout`, `unschedulableTimeout`).
    static let placement: Duration = .seconds(86_400)
}

extension LauncherSettings {
    /// The settings of a task's profile; a problem `runway validate` would have named fails the
    /// start with the same words.
    static func read(_ config: ConfigNode?, plugin: String, task: String) throws -> Self {
        var diagnostics: [Diagnostic] = []
        let settings = config.map { Self($0, diagnostics: &diagnostics) } ?? Self()
        guard diagnostics.isEmpty else {
            throw LauncherError(.invalidSpec, plugin: plugin, task: task, diagnostics.map(\.description).joined(separator: "; "))
        }
        return settings
    }
}

/// JSON in and out of a platform's API: sorted keys out (stable bodies), and an answer that
/// does not decode named as such.
enum LauncherJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, plugin: String, _ body: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw LauncherError(.unavailable, plugin: plugin, "the platform's answer is not a \(type): \(error)")
        }
    }
}

/// An API client that counts the requests it sends.
protocol CountingClient: AnyObject, Sendable {
    var requestCount: Int { get }
}

/// The API clients of one launcher, one per place it talks to, made on first use.
final class ClientTable<Key: Hashable & Sendable, Client: CountingClient>: Sendable {
    private let clients = Mutex<[Key: Client]>([:])

    func client(_ key: Key, make: () throws -> Client) rethrows -> Client {
        if let client = clients.withLock({ $0[key] }) { return client }
        let made = try make()
        return clients.withLock { clients in
            if let client = clients[key] { return client }
            clients[key] = made
            return made
        }
    }

    /// Every client made so far, by key.
    var all: [Key: Client] { clients.withLock { $0 } }

    /// Requests sent by every client so far, retries included.
    var requestCount: Int { clients.withLock { $0.values.reduce(0) { $0 + $1.requestCount } } }
}

/// Sending one API call until it succeeds or fails for good: 429 and the answers `retryable`
/// accepts are retried after their `Retry-After` or a backoff (200 ms doubling, capped at 5 s,
/// jittered), an unreachable server after a backoff, up to `attempts` tries in all.
struct APIRetry: Sendable {
    var attempts = 10

    /// The first answer that is a success or not worth retrying (the caller judges it).
    func send(counting counter: borrowing Atomic<Int>, retryable: (HTTPResponse) -> Bool, _ send: () async throws -> HTTPResponse)
        async throws -> HTTPResponse
    {
        var attempt = 0
        while true {
            attempt += 1
            counter.add(1, ordering: .relaxed)
            let response: HTTPResponse
            do {
                response = try await send()
            } catch let error as HTTPError where error.isUnreachable && attempt < attempts {
                try await Task.sleep(for: Self.delay(attempt: attempt, retryAfter: nil))
                continue
            }
            guard !(200..<300).contains(response.status), retryable(response), attempt < attempts else { return response }
            try await Task.sleep(for: Self.delay(attempt: attempt, retryAfter: response.headers["retry-after"]))
        }
    }

    /// A server's `Retry-After` (seconds, at most 30), else 200 ms doubling, capped at 5 s, jittered.
    static func delay(attempt: Int, retryAfter: String?) -> Duration {
        if let seconds = retryAfter.flatMap(Double.init), seconds >= 0 {
            return .milliseconds(Int(min(seconds, 30) * 1000))
        }
        let base = min(0.2 * pow(2, Double(attempt - 1)), 5)
        return .milliseconds(Int(base * Double.random(in: 0.5...1.0) * 1000))
    }
}
