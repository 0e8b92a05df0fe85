import CRunwaySystem
import Foundation

/// How the controller keeps its heap small.
public enum HeapSettings {
    /// glibc's malloc gives threads arenas of their own (up to eight per core), and memory freed
    /// in an arena stays with it: the controller's threads (the HTTP transfers, the server's
    /// event loops, the task pool, the local launcher's reaper) spread a load's short-lived garbage
    /// over all of them, and the holes left between live objects stay resident. With 100,000
    /// jobs and 1,000 live local tasks, two arenas kept 297 MiB resident where the default kept
    /// 340–378 MiB. `MALLOC_ARENA_MAX` in the environment, when set, decides instead.
    public static func limitArenas(to count: Int32 = 2) {
        guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
        runway_limit_malloc_arenas(count)
    }
}
