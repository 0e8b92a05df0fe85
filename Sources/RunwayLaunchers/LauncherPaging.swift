/// A platform's paged listing, read to its end, for every launcher: Kubernetes' `continue`,
/// Nomad's `next_token`, ECS's `nextToken`.
enum LauncherPaging {
    /// More pages than any listing of Runway's tasks needs (a million items at 100 a page).
    static let maxPages = 10_000

    /// Every item, page by page: `page(token)` reads the page `token` names (nil: the first)
    /// and returns its items and the next page's token (nil or empty: it was the last).
    ///
    /// The platform's answers are not trusted to end: a server that hands back a token it gave
    /// before would have the listing ask for the same pages forever, and never answer the pass
    /// that waits for it. Either, or more than `maxPages` pages, is an error naming `listing`.
    static func all<Item>(
        plugin: String, listing: String, maxPages: Int = maxPages, _ page: (String?) async throws -> (items: [Item], next: String?)
    ) async throws -> [Item] {
        var items: [Item] = []
        var token: String?
        var seen = Set<String>()
        for _ in 0..<maxPages {
            let read = try await page(token)
            items += read.items
            guard let next = read.next, !next.isEmpty else { return items }
            guard seen.insert(next).inserted else {
                throw LauncherError(
                    .unavailable, plugin: plugin,
                    "\(listing): the platform handed back a page token it had given before (\(next.prefix(80))); the listing would never end")
            }
            token = next
        }
        throw LauncherError(.unavailable, plugin: plugin, "\(listing): more than \(maxPages) pages; the listing would not end")
    }
}
