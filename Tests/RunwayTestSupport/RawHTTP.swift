import Foundation

/// Bytes written to a loopback port as they are, and what comes back: for requests no HTTP
/// client would send (a declared body that never comes).
public enum RawHTTP {
    /// Connects to 127.0.0.1:`port`, writes `bytes`, and reads until the server closes, the
    /// answer's head and declared body are in, or `readFor` passes; returns what was read.
    public static func exchange(port: Int, send bytes: [UInt8], readFor: Duration) async throws -> String {
        // On a thread of its own: it blocks, and the server under test may share this process's
        // (small) pool of async threads.
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingExchange(port: port, send: bytes, readFor: readFor) })
            }
        }
    }

    /// A TCP connection to 127.0.0.1:`port` (the caller closes it).
    public static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED
            close(fd)
            throw POSIXError(code)
        }
        return fd
    }

    private static func blockingExchange(port: Int, send bytes: [UInt8], readFor: Duration) throws -> String {
        try {
            let fd = try connect(port: port)
            defer { close(fd) }
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + readFor
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline, !isComplete(received) {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let left = deadline - ContinuousClock.now
                guard poll(&poller, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))) > 0
                else { continue }
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }()
    }

    /// Whether `bytes` hold a whole answer: its head, and as much body as it declares.
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return true }
        return text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length
    }
}
