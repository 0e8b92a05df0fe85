import CRunwayTLS
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A byte stream the HTTP exchange reads and writes: a socket, or TLS over one.
protocol WireStream {
    func write(_ bytes: [UInt8], _ failure: (String) -> WireError) throws
    /// Bytes read into `buffer` (0 at the end), or a failure (`true`: the deadline passed).
    func read(into buffer: UnsafeMutableRawBufferPointer, _ failure: (String, Bool) -> WireError) throws -> Int
}

/// A connected TCP socket whose blocking calls are bounded by the request's deadline.
final class WireSocket: WireStream {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Connects to the first address of `host` that answers within `within`.
    static func connect(host: String, port: Int, within timeout: Duration, _ failure: (String, Bool) -> WireError) throws -> WireSocket {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw failure("cannot resolve \(host): \(String(cString: gai_strerror(resolved)))", false)
        }
        defer { freeaddrinfo(first) }
        var cause = "no address"
        var timedOut = false
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let address = next {
            next = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
                let ready = poll(&poller, 1, max(milliseconds, 1))
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if ready == 1, getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 {
                    result = 0
                } else {
                    timedOut = ready == 0
                    errno = ready == 0 ? ETIMEDOUT : error
                }
            }
            if result == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return WireSocket(fd: fd)
            }
            cause = String(cString: strerror(errno))
            Glibc.close(fd)
        }
        throw failure("cannot connect to \(host) port \(port): \(cause)", timedOut)
    }

    /// Bounds each later blocking call by the time left until `deadline`.
    func setTimeouts(until deadline: ContinuousClock.Instant, _ failure: (String, Bool) -> WireError) throws {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw failure("timed out", true) }
        let (seconds, attoseconds) = left.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(max(attoseconds / 1_000_000_000_000, 1)))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func write(_ bytes: [UInt8], _ failure: (String) -> WireError) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("cannot send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, _ failure: (String, Bool) -> WireError) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
            throw failure(timedOut ? "timed out" : "cannot receive: \(String(cString: strerror(errno)))", timedOut)
        }
    }

    func close() { Glibc.close(fd) }
}

/// TLS over a connected socket (the socket stays the caller's to close).
final class TLSStream: WireStream {
    let tls: OpaquePointer

    init(context: TLSContext, socket: WireSocket, host: String, _ failure: (String, Bool) -> WireError) throws {
        var error = [CChar](repeating: 0, count: 512)
        var certificateProblem: Int32 = 0
        guard let tls = runway_tls_connect(context.pointer, socket.fd, host, &certificateProblem, &error, error.count) else {
            throw failure(cText(error), certificateProblem != 0)
        }
        self.tls = tls
    }

    deinit { runway_tls_free(tls) }

    func write(_ bytes: [UInt8], _ failure: (String) -> WireError) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard bytes.withUnsafeBytes({ runway_tls_write(tls, $0.baseAddress, bytes.count, &error, error.count) }) >= 0 else {
            throw failure(cText(error))
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, _ failure: (String, Bool) -> WireError) throws -> Int {
        var error = [CChar](repeating: 0, count: 512)
        let n = runway_tls_read(tls, buffer.baseAddress, buffer.count, &error, error.count)
        guard n >= 0 else {
            let cause = cText(error)
            throw failure(cause, cause == "timed out")
        }
        return n
    }
}

/// Reads one HTTP/1.1 response: the head, then a body by Content-Length, chunks, or to the end.
struct WireReader {
    let stream: any WireStream
    let deadline: ContinuousClock.Instant
    let socket: WireSocket
    let limit: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var ended = false

    init(stream: any WireStream, deadline: ContinuousClock.Instant, socket: WireSocket, limit: Int) {
        self.stream = stream
        self.deadline = deadline
        self.socket = socket
        self.limit = limit
    }

    mutating func response(_ failure: (String, Bool) -> WireError) throws -> WireResponse {
        let statusLine = try line(failure)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw failure("not an HTTP/1.1 answer: \(statusLine.prefix(80))", false)
        }
        var headers: [String: String] = [:]
        while true {
            let header = try line(failure)
            if header.isEmpty { break }
            guard let colon = header.firstIndex(of: ":") else { continue }
            let name = header[..<colon].lowercased()
            let value = String(header[header.index(after: colon)...].drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        var body: [UInt8] = []
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try line(failure)
                guard let size = Int(sizeLine.split(separator: ";").first?.filter { $0 != " " && $0 != "\t" } ?? "", radix: 16),
                    size >= 0
                else { throw failure("a bad chunk size: \(sizeLine.prefix(40))", false) }
                if size == 0 {
                    while try !line(failure).isEmpty {}  // trailers
                    break
                }
                body += try bytes(size, failure)
                _ = try line(failure)
            }
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            body = try bytes(length, failure)
        } else if status >= 200 && status != 204 && status != 304 {
            while try fill(failure) {}
            body = Array(buffer[position...])
            guard body.count <= limit else { throw failure("an answer larger than \(limit) bytes", false) }
        }
        return WireResponse(status: status, headers: headers, body: body)
    }

    /// The next CRLF-terminated line (at most 64 KiB).
    private mutating func line(_ failure: (String, Bool) -> WireError) throws -> String {
        while true {
            if let end = buffer[position...].firstIndex(of: 10) {
                var text = buffer[position..<end]
                if text.last == 13 { text = text.dropLast() }
                position = end + 1
                return String(decoding: text, as: UTF8.self)
            }
            guard buffer.count - position < 64 << 10 else { throw failure("a header line longer than 64 KiB", false) }
            guard try fill(failure) else { throw failure("the connection closed before the answer ended", false) }
        }
    }

    private mutating func bytes(_ count: Int, _ failure: (String, Bool) -> WireError) throws -> [UInt8] {
        guard count <= limit else { throw failure("an answer larger than \(limit) bytes", false) }
        while buffer.count - position < count {
            guard try fill(failure) else { throw failure("the connection closed before the answer ended", false) }
        }
        defer { position += count }
        return Array(buffer[position..<position + count])
    }

    /// Reads more; false at the end of the stream.
    private mutating func fill(_ failure: (String, Bool) -> WireError) throws -> Bool {
        if ended { return false }
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        guard buffer.count - position <= limit + (64 << 10) else { throw failure("an answer larger than \(limit) bytes", false) }
        try socket.setTimeouts(until: deadline, failure)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let n = try chunk.withUnsafeMutableBytes { try stream.read(into: $0, failure) }
        if n == 0 {
            ended = true
            return false
        }
        buffer += chunk[..<n]
        return true
    }
}

/// The text of a NUL-terminated C buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
