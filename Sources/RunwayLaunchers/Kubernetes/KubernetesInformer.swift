import Foundation
import Logging
import RunwayHTTP
import Synchronization

/// An object the API server lists and watches.
protocol KubernetesObject: Decodable, Sendable {
    var metadata: Kubernetes.ObjectMeta { get }
}

extension Kubernetes.Job: KubernetesObject {}
extension Kubernetes.Pod: KubernetesObject {}

/// One namespace's objects of one resource that a label selector matches, kept as the API server
/// holds them, as client-go's informers do: a paged list, then a watch from the list's
/// resourceVersion (bookmarks asked for), each event applied to the copy and `changed` called.
/// A watch the server ends (after `watchSeconds`) is watched again from the last
/// resourceVersion; `410 Expired` lists again; any other failure, or a watch silent past
/// `stall`, makes the copy unusable (``items`` is nil, so the caller lists by itself) until a
/// list succeeds again, tried with backoff. The copy is used only while a watch is open (not in
/// a moment between one watch and the next, `reconnectGrace`). Every `relist` the objects are
/// listed again anyway.
final class KubernetesInformer<Item: KubernetesObject>: Sendable {
    struct Settings: Sendable {
        /// The `timeoutSeconds` of each watch. Default 60 s.
        var watchSeconds = 60
        /// A watch whose body is silent this long is broken. Default 75 s.
        var stall: Duration = .seconds(75)
        /// How often the objects are listed again although the watch is healthy. Default 10 minutes.
        var relist: Duration = .seconds(600)
        /// How long the copy is still used while the next watch is being opened. Default 2 s.
        var reconnectGrace: Duration = .seconds(2)
    }

    private struct State {
        var items: [String: Item] = [:]
        var synced = false
        /// Since when no watch has been open (nil while one is, or right after a list).
        var disconnectedSince: ContinuousClock.Instant?
        /// Why the copy is not current, when it is not.
        var problem: String? = "not listed yet"
        /// RBAC forbids watching: the informer has stopped for good.
        var forbidden = false
        var task: Task<Void, Never>?
    }

    let resource: KubernetesResource
    let namespace: String
    let selector: String
    let settings: Settings
    let client: KubernetesClient
    let list: @Sendable () async throws -> (items: [Item], resourceVersion: String?)
    let changed: @Sendable () -> Void
    let logger: Logger
    private let state = Mutex(State())

    init(
        resource: KubernetesResource, namespace: String, selector: String, settings: Settings = Settings(), client: KubernetesClient,
        logger: Logger, list: @escaping @Sendable () async throws -> (items: [Item], resourceVersion: String?),
        changed: @escaping @Sendable () -> Void
    ) {
        self.resource = resource
        self.namespace = namespace
        self.selector = selector
        self.settings = settings
        self.client = client
        self.logger = logger
        self.list = list
        self.changed = changed
    }

    deinit { state.withLock { $0.task?.cancel() } }

    /// The objects as last seen, or nil while the copy is not known to be current.
    /// Why ``items`` is nil, and whether RBAC forbids the watch (the caller then lists).
    var status: (problem: String?, forbidden: Bool) { state.withLock { ($0.problem, $0.forbidden) } }

    var items: [Item]? {
        state.withLock { state in
            guard state.synced, state.disconnectedSince.map({ .now - $0 < settings.reconnectGrace }) ?? true else { return nil }
            return Array(state.items.values)
        }
    }

    func start() {
        state.withLock { state in
            guard state.task == nil else { return }
            state.task = Task { [weak self] in await self?.run() }
        }
    }

    func stop() {
        state.withLock { $0.task?.cancel() }
    }

    private func run() async {
        var backoff = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let (items, listedVersion) = try await list()
                logger.debug("listed", metadata: [
                    "resource": "\(resource.qualified)", "items": "\(items.count)", "resourceVersion": "\(listedVersion ?? "")",
                ])
                state.withLock { state in
                    state.items = Dictionary(items.map { (Self.key($0), $0) }, uniquingKeysWith: { _, b in b })
                    state.synced = listedVersion != nil
                    state.disconnectedSince = nil
                    state.problem = nil
                }
                changed()
                guard var version = listedVersion else { throw KubernetesWatchError.noResourceVersion }
                backoff = .milliseconds(500)
                let listedAt = ContinuousClock.now
                while !Task.isCancelled, ContinuousClock.now - listedAt < settings.relist {
                    guard let next = try await watch(from: version) else { break }  // expired: list again
                    version = next
                }
            } catch {
                if Task.isCancelled { break }
                let forbidden = (error as? KubernetesAPIError)?.status == 403
                let wasSynced = state.withLock { state in
                    defer { (state.synced, state.problem, state.forbidden) = (false, "\(error)", forbidden) }
                    return state.synced
                }
                if wasSynced { changed() }
                if forbidden {
                    logger.warning(
                        "RBAC forbids watching; listing at every pass instead (Manifests/kubernetes/role.yaml grants watch)",
                        metadata: ["resource": "\(resource.qualified)", "namespace": "\(namespace)", "error": "\(error)"])
                    return
                }
                logger.warning(
                    "cannot watch; listing each pass until it can", metadata: [
                        "resource": "\(resource.qualified)", "namespace": "\(namespace)", "error": "\(error)", "retry.in": "\(backoff)",
                    ])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
        state.withLock { $0.synced = false }
    }

    /// One watch from `version`, applied as it streams; returns the resourceVersion to watch from
    /// next, or nil when the server said the version expired.
    private func watch(from version: String) async throws -> String? {
        let call = KubernetesCall(verb: "watch", resource: resource, namespace: namespace, query: [
            ("labelSelector", selector), ("watch", "1"), ("resourceVersion", version), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(settings.watchSeconds)),
        ])
        // Between watches the copy may lag: a watch that takes long to open must not leave a
        // stale copy in use, so past `reconnectGrace` passes list until it answers.
        state.withLock { $0.disconnectedSince = $0.disconnectedSince ?? .now }
        let response = try await client.stream(call, stall: settings.stall)
        state.withLock { $0.disconnectedSince = nil }
        var version = version
        var buffer: [UInt8] = []
        for try await chunk in response.body {
            buffer += chunk
            while let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                guard !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) else { continue }
                guard let next = try apply(line) else { return nil }
                version = next ?? version
            }
            if buffer.count > 16 << 20 { throw KubernetesWatchError.eventTooLarge }
        }
        return version
    }

    private struct Event<Object: Decodable>: Decodable {
        var type: String
        var object: Object
    }

    private struct EventType: Decodable {
        var type: String
    }

    private struct Status: Decodable {
        var code: Int?
        var reason: String?
        var message: String?
    }

    private struct Bookmark: Decodable {
        var metadata: Kubernetes.ObjectMeta
    }

    /// Applies one event line. Returns `.some(version)` to go on (nil version: unchanged), or nil
    /// when the watch's version expired.
    private func apply(_ line: [UInt8]) throws -> String?? {
        let decoder = JSONDecoder()
        let kind = try decoder.decode(EventType.self, from: Data(line)).type
        switch kind {
        case "ADDED", "MODIFIED", "DELETED":
            let item = try decoder.decode(Event<Item>.self, from: Data(line)).object
            state.withLock { state in
                if kind == "DELETED" { state.items[Self.key(item)] = nil } else { state.items[Self.key(item)] = item }
            }
            logger.debug("watch event", metadata: [
                "type": "\(kind)", "resource": "\(resource.qualified)", "name": "\(item.metadata.name ?? "")",
                "resourceVersion": "\(item.metadata.resourceVersion ?? "")",
            ])
            changed()
            return .some(item.metadata.resourceVersion)
        case "BOOKMARK":
            return .some(try decoder.decode(Event<Bookmark>.self, from: Data(line)).object.metadata.resourceVersion)
        case "ERROR":
            let status = try decoder.decode(Event<Status>.self, from: Data(line)).object
            if status.code == 410 { return nil }
            throw KubernetesWatchError.status(status.code ?? 0, status.reason ?? "", status.message ?? "")
        default:
            throw KubernetesWatchError.unknownEvent(kind)
        }
    }

    private static func key(_ item: Item) -> String { item.metadata.uid ?? item.metadata.name ?? "" }
}

enum KubernetesWatchError: Error, CustomStringConvertible {
    case noResourceVersion
    case eventTooLarge
    case status(Int, String, String)
    case unknownEvent(String)

    var description: String {
        switch self {
        case .noResourceVersion: "the list carried no resourceVersion to watch from"
        case .eventTooLarge: "a watch event over 16 MiB"
        case .status(let code, let reason, let message): "the watch ended with HTTP \(code) \(reason): \(message)"
        case .unknownEvent(let type): "a watch event of unknown type '\(type)'"
        }
    }
}
