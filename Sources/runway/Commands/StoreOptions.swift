import ArgumentParser
import Foundation
import RunwayStore

/// Which state store: SQLite in the state directory, or a PostgreSQL several controllers share.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .customLong("store"),
        help: "Where state lives: postgres://USER@HOST:PORT/DB[?sslmode=require|verify-full&sslrootcert=CA] for several controllers sharing one store (default: SQLite in --state-dir). Env: RUNWAY_STORE.")
    var storeFlag: String?
    /// `--store`, else $RUNWAY_STORE.
    var store: String? { storeFlag ?? Environment.optional("RUNWAY_STORE") }

    @Option(name: .long, help: "Longest a PostgreSQL store operation may take (a connection or a lock included) before the store counts as unreachable. Env: RUNWAY_STORE_TIMEOUT.")
    var storeTimeout: ManifestDuration = Environment.duration("RUNWAY_STORE_TIMEOUT", default: .seconds(5))

    @Option(name: .customLong("store-password-file"), help: "A file holding the PostgreSQL password (never on the command line). Env: RUNWAY_STORE_PASSWORD_FILE, or RUNWAY_STORE_PASSWORD itself.")
    var storePasswordFileFlag: String?
    /// `--store-password-file`, else $RUNWAY_STORE_PASSWORD_FILE.
    var storePasswordFile: String? { storePasswordFileFlag ?? Environment.optional("RUNWAY_STORE_PASSWORD_FILE") }

    func validate() throws { try Environment.checkValues() }

    /// PostgreSQL when `--store` names one, else SQLite in the state directory. The password
    /// comes from `--store-password-file` or `RUNWAY_STORE_PASSWORD`, so it never shows in a
    /// process listing or a log.
    func open(stateDirectory: String, observer: CommitObserver?) async throws -> any StateStore {
        guard let url = store, !url.isEmpty else { return try SQLiteStateStore(directory: stateDirectory, observer: observer) }
        // A password in the URL shows in process listings, shell history and pod specs.
        guard URLComponents(string: url)?.password == nil else {
            throw ValidationError(
                "the --store URL holds a password, which would show in process listings and logs: put it in a file and "
                    + "name it with --store-password-file (or RUNWAY_STORE_PASSWORD_FILE), and leave it out of the URL")
        }
        var password = ProcessInfo.processInfo.environment["RUNWAY_STORE_PASSWORD"]
        if let file = storePasswordFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--store-password-file \(file) cannot be read")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        var location = try PostgresStateStore.Location(url: url, password: password)
        location.operationTimeout = storeTimeout.value
        return try await PostgresStateStore(location: location, observer: observer, logger: Wiring.logger("runway.store"))
    }
}
