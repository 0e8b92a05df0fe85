import Synchronization
import Testing

@testable import RunwayLaunchers

/// A listing reads every page, and ends even when the platform's page tokens would not.
@Suite struct LauncherPagingTests {
    /// Page `token` → (items, next token), and the tokens asked for, in order.
    final class Pages: Sendable {
        let asked = Mutex<[String?]>([])
        let next: @Sendable (String?) -> (items: [Int], next: String?)

        init(_ next: @escaping @Sendable (String?) -> (items: [Int], next: String?)) { self.next = next }

        func read(_ token: String?) async throws -> (items: [Int], next: String?) {
            asked.withLock { $0.append(token) }
            return next(token)
        }
    }

    @Test func everyPageIsReadInOrderUntilATokenIsMissingOrEmpty() async throws {
        for last in [nil, ""] as [String?] {
            let pages = Pages { token in
                switch token {
                case nil: ([1, 2], "a")
                case "a": ([3, 4], "b")
                default: ([5], last)
                }
            }
            let items = try await LauncherPaging.all(plugin: "test", listing: "listing things", pages.read)
            #expect(items == [1, 2, 3, 4, 5])
            #expect(pages.asked.withLock { $0 } == [nil, "a", "b"])
        }
    }

    @Test func aTokenHandedBackAgainIsAnErrorNotAListingWithoutEnd() async throws {
        // The server answers "b" for "a" and "a" for "b": asked forever without the check.
        let pages = Pages { token in ([0], token == "a" ? "b" : "a") }
        let error = await #expect(throws: LauncherError.self) {
            try await LauncherPaging.all(plugin: "test", listing: "listing things in ns-1", pages.read)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.description.contains("listing things in ns-1") == true)
        #expect(error?.description.contains("a page token it had given before (a)") == true)
        let asked = pages.asked.withLock { $0 }
        #expect(asked.count == 3 && asked.prefix(3) == [nil, "a", "b"], "the third page's answer ends it")
    }

    @Test func aListingPastItsPageLimitIsAnError() async throws {
        let pages = Pages { token in ([1], (token ?? "") + "x") }  // a new token every time
        let error = await #expect(throws: LauncherError.self) {
            try await LauncherPaging.all(plugin: "test", listing: "listing things", maxPages: 5, pages.read)
        }
        #expect(error?.description.contains("more than 5 pages") == true)
        #expect(pages.asked.withLock { $0.count } == 5)
    }
}
