import Foundation

/// A CA and a server certificate for 127.0.0.1/localhost signed by it, made with `openssl` in a
/// directory of the test's; plus a second, unrelated CA that must not be trusted.
public struct TestCertificates: Sendable {
    public let caFile: String
    public let certificateFile: String
    public let keyFile: String
    /// A CA that signed nothing here.
    public let otherCAFile: String
    /// A client certificate and key signed by the CA (for servers that ask for one).
    public let clientCertificateFile: String
    public let clientKeyFile: String

    public init(in directory: String) async throws {
        caFile = directory + "/ca.pem"
        certificateFile = directory + "/server.pem"
        keyFile = directory + "/server.key"
        otherCAFile = directory + "/other-ca.pem"
        clientCertificateFile = directory + "/client.pem"
        clientKeyFile = directory + "/client.key"
        let script = """
            set -e
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=Runway test CA'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj '/CN=Some other CA'
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1'
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj '/CN=runway test client'
            printf 'extendedKeyUsage=clientAuth\n' > client.ext
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext
            """
        let result = try await RunningCommand.shell(script, directory: directory)
        guard result.status == 0 else { throw TestCertificatesError(message: result.stderr) }
    }
}

struct TestCertificatesError: Error, CustomStringConvertible {
    var message: String
    var description: String { "openssl failed: \(message)" }
}
