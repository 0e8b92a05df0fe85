import Foundation

/// Watching: once the controller asks for changes (``notifyChanges(_:)``), each namespace's Jobs
/// and Pods of this controller are kept by a list+watch (``KubernetesInformer``), a pass takes
/// them from there instead of listing, and any change wakes the controller, so a task that ends
/// or vanishes out of band is seen within a second. While a watch is broken (no `watch` verb in
/// RBAC, the API server away) the passes list as before.
extension KubernetesLauncher {
    /// How long a listing waits for the watched copy to be current. 5 seconds.
    static let watchPatience: Duration = .seconds(5)

    struct Informers: Sendable {
        let jobs: KubernetesInformer<Kubernetes.Job>
        let pods: KubernetesInformer<Kubernetes.Pod>
    }

    public func notifyChanges(_ changed: @escaping @Sendable () -> Void) {
        watching.withLock { $0.changed = changed }
    }

    /// The scope's Jobs and Pods. Watching, they come only from the watch (mixing a lagging copy
    /// with fresher lists would show a task and then lose it): a copy not current within
    /// `watchPatience` fails the listing (the platform waits a pass). Listed at every call when
    /// not watching, or when RBAC forbids the watch.
    func objects(of scope: Scope, selector: String, client: KubernetesClient) async throws
        -> (jobs: [Kubernetes.Job], pods: [Kubernetes.Pod])
    {
        if let informers = informers(for: scope, selector: selector, client: client) {
            let deadline = ContinuousClock.now + Self.watchPatience
            while !(informers.jobs.status.forbidden || informers.pods.status.forbidden) {
                if let jobs = informers.jobs.items, let pods = informers.pods.items { return (jobs, pods) }
                guard ContinuousClock.now < deadline else {
                    let problem = informers.jobs.status.problem ?? informers.pods.status.problem ?? "the watch is reconnecting"
                    throw LauncherError(
                        .unavailable, plugin: Self.plugin,
                        "the watch of Jobs and Pods in namespace \(scope.namespace) is not current: \(problem)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            informers.jobs.stop()
            informers.pods.stop()
        }
        return try await calling(task: nil, client) {
            (try await list(Kubernetes.Job.self, .jobs, selector: selector, namespace: scope.namespace, client: client).items,
             try await list(Kubernetes.Pod.self, .pods, selector: selector, namespace: scope.namespace, client: client).items)
        }
    }

    /// The scope's informers, started on first use; nil unless the controller asked for changes.
    private func informers(for scope: Scope, selector: String, client: KubernetesClient) -> Informers? {
        watching.withLock { watching in
            guard let changed = watching.changed else { return nil }
            if let existing = watching.informers[scope], existing.jobs.selector == selector { return existing }
            watching.informers[scope].map { $0.jobs.stop(); $0.pods.stop() }
            let namespace = scope.namespace
            let informers = Informers(
                jobs: KubernetesInformer(
                    resource: .jobs, namespace: namespace, selector: selector, client: client, logger: logger,
                    list: { try await self.list(Kubernetes.Job.self, .jobs, selector: selector, namespace: namespace, client: client) },
                    changed: changed),
                pods: KubernetesInformer(
                    resource: .pods, namespace: namespace, selector: selector, client: client, logger: logger,
                    list: { try await self.list(Kubernetes.Pod.self, .pods, selector: selector, namespace: namespace, client: client) },
                    changed: changed))
            informers.jobs.start()
            informers.pods.start()
            watching.informers[scope] = informers
            return informers
        }
    }

    /// Every page of a list, and the resourceVersion of its first (the snapshot the pages share).
    func list<Item: Decodable & Sendable>(
        _ type: Item.Type, _ resource: KubernetesResource, selector: String, namespace: String, client: KubernetesClient
    ) async throws -> (items: [Item], resourceVersion: String?) {
        var version: String?
        let items = try await LauncherPaging.all(plugin: Self.plugin, listing: "listing \(resource.rawValue) in \(namespace)") { token in
            var query = [("labelSelector", selector), ("limit", String(pageSize))]
            if let token { query.append(("continue", token)) }
            let page = try LauncherJSON.decode(Kubernetes.List<Item>.self, plugin: Self.plugin, try await client.send(KubernetesCall(
                verb: "list", resource: resource, namespace: namespace, query: query)))
            if version == nil { version = page.metadata?.resourceVersion }
            return (page.items, page.metadata?.continue)
        }
        return (items, version)
    }
}
