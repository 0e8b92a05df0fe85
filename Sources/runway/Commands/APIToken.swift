import Foundation
import RunwayModel

/// The operator's API token on disk: a file the operator gives (`--api-token-file`), or the one a
/// controller on a loopback listener makes in its state directory (`api-token`, `0600`), where
/// `status`, `logs` and `explain` on the same machine find it.
enum APIToken {
    static func generatedFile(stateDirectory: String) -> String { stateDirectory + "/api-token" }

    /// The token in `path` (surrounding whitespace trimmed); `flag` names where it came from.
    static func read(_ path: String, flag: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot read \(flag) \(path)", ExitStatus.unusable)
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw failure("\(flag) \(path) is empty", ExitStatus.unusable) }
        return token
    }

    /// The state directory's token, made (32 random bytes, hex, `0600`) when there is none yet;
    /// one already there is kept, so readers keep working across restarts, and tightened to
    /// `0600` if it was looser.
    static func loadOrCreate(stateDirectory: String) throws -> String {
        let path = generatedFile(stateDirectory: stateDirectory)
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            guard errno == EEXIST else {
                throw failure("cannot write the API token to \(path): \(String(cString: strerror(errno)))", ExitStatus.unusable)
            }
            chmod(path, 0o600)
            return try read(path, flag: "the API token file")
        }
        defer { close(fd) }
        let token = TaskToken.generate()
        let line = Array((token + "\n").utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            unlink(path)
            throw failure("cannot write the API token to \(path): \(String(cString: strerror(errno)))", ExitStatus.unusable)
        }
        return token
    }

    /// Whether `host` is reachable only from this machine (`127.0.0.0/8`, `::1`, `localhost`).
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// The token a reader sends to `server`: `RUNWAY_API_TOKEN`, else the file
    /// `RUNWAY_API_TOKEN_FILE` names, else (only for a server on this machine, so it never
    /// leaves it) the state directory's generated one, else none.
    static func forReading(server: String, stateDirectory: String) throws -> String? {
        if let token = Environment.optional("RUNWAY_API_TOKEN") { return token }
        if let file = Environment.optional("RUNWAY_API_TOKEN_FILE") { return try read(file, flag: "RUNWAY_API_TOKEN_FILE") }
        guard let host = URLComponents(string: server)?.host, isLoopback(host) else { return nil }
        let generated = generatedFile(stateDirectory: stateDirectory)
        return FileManager.default.isReadableFile(atPath: generated) ? try read(generated, flag: "the API token file") : nil
    }
}
