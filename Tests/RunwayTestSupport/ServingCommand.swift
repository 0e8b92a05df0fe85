import Foundation

/// `runway apply` and `runway controller` started on a port the system picks (`--listen
/// 127.0.0.1:0`), with the port they announce on stderr ("runner API on HOST:PORT"): no test
/// probes for a free port and then hopes nobody takes it before the server binds it.
extension RunningCommand {
    /// Starts `runway arguments(port)` listening on `port` and returns it once it has bound, with
    /// the port it bound. `port` 0 lets the system pick; an earlier run's port (a restart that
    /// tasks must find again) can be held for a while by another socket, so a start that fails
    /// with "Address already in use" is made again until it binds, up to `timeout`.
    public static func serving(
        port: Int = 0, directory: String, environment: [String: String] = [:], timeout: Duration = .seconds(120),
        _ arguments: (Int) -> [String]
    ) async throws -> (RunningCommand, port: Int) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let command = try RunningCommand(arguments(port), directory: directory, environment: environment)
            if let bound = await command.boundPort(timeout: deadline - ContinuousClock.now) { return (command, bound) }
            let result = await command.wait(timeout: .seconds(60))
            guard port != 0, result.stderr.contains("Address already in use"), ContinuousClock.now < deadline else {
                throw ServingError(arguments: arguments(port), stderr: result.stderr)
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// The port this `apply` or `controller` announced ("runner API on HOST:PORT"), once it
    /// does; nil when it exits first or `timeout` passes.
    public func boundPort(timeout: Duration = .seconds(120)) async -> Int? {
        var port: Int?
        _ = await RunningCommand.until(timeout: timeout) {
            port = Self.announcedPort(in: stderr)
            return port != nil || hasExited
        }
        return port ?? Self.announcedPort(in: stderr)
    }

    static func announcedPort(in text: String) -> Int? {
        guard let range = text.range(of: "runner API on ") else { return nil }
        let line = text[range.upperBound...].prefix { $0 != "\n" }
        guard text[range.upperBound...].contains("\n"), let colon = line.lastIndex(of: ":") else { return nil }
        return Int(line[line.index(after: colon)...])
    }
}

public struct ServingError: Error, CustomStringConvertible {
    public let arguments: [String]
    public let stderr: String
    public var description: String { "runway \(arguments.joined(separator: " ")) did not serve: \(stderr)" }
}

/// A TCP port on 127.0.0.1 that is bound but never listened on, held until this is released: a
/// connection to it is refused, and no other socket can take it meanwhile.
public final class RefusingPort: @unchecked Sendable {
    /// Set once in init; the descriptor is only closed in deinit.
    private let descriptor: Int32
    public let port: Int

    public init() {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        port = bindLoopback(descriptor, port: 0) ?? 0
    }

    deinit { close(descriptor) }
}

/// A port for a server whose address must be known before it starts (replicas that name each
/// other): below the system's ephemeral range (32768 up), so no outgoing connection or port-0
/// bind can take it, and never the same twice in this process; checked free when handed out.
/// Start the server with `RunningCommand.serving(port:)`, which retries while a port is taken.
public func fixedPort() -> Int {
    FixedPorts.shared.next()
}

final class FixedPorts: @unchecked Sendable {
    static let shared = FixedPorts()
    /// Guarded by `lock`.
    private var next_ = Int.random(in: 20000..<30000)
    private let lock = NSLock()

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        while true {
            next_ = next_ >= 32700 ? 20000 : next_ + 1
            if Self.isFree(next_) { return next_ }
        }
    }

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bindLoopback(fd, port: port) != nil
    }
}

/// Binds socket `fd` to 127.0.0.1:`port` (0: one the system picks); the port bound, or nil when
/// the bind failed.
private func bindLoopback(_ fd: Int32, port: Int) -> Int? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}
