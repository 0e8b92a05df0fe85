/// How a client checks the server and proves itself over TLS. Every default is documented on its
/// property; with the defaults, the system's trust store verifies the server.
public struct TLSOptions: Sendable, Equatable {
    /// Where trusted CA certificates come from.
    public enum Source: Sendable, Equatable {
        /// A PEM file on disk.
        case file(String)
        /// PEM text in memory (a certificate handed over in an environment variable or a config).
        case pem(String)

        /// A PEM file path, or PEM text when `value` holds a certificate itself.
        public static func fileOrPEM(_ value: String) -> Source {
            value.contains("-----BEGIN") ? .pem(value) : .file(value)
        }
    }

    /// CA certificates to trust instead of the system's. Default none (the system's store).
    public var certificateAuthority: Source?
    /// Client certificate (PEM), for servers that ask for one. Default none.
    public var clientCertificate: Source?
    /// The client certificate's private key (PEM). Default none.
    public var clientKey: Source?
    /// Skip verifying the server's certificate and name. Default false; only when asked.
    public var insecure: Bool = false

    public init(
        certificateAuthority: Source? = nil, clientCertificate: Source? = nil, clientKey: Source? = nil, insecure: Bool = false
    ) {
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecure = insecure
    }
}
