#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// `transform` over `items` on every core, results in the items' order; on the calling thread
/// alone below `threshold` items (one file changed: no thread is worth waking). For work that
/// is pure and much the same per item: reading and decoding files, a job's generation.
enum ParallelMap {
    static func map<Item: Sendable, T: Sendable>(_ items: [Item], threshold: Int = 64, _ transform: @Sendable (Item) -> T) -> [T] {
        guard items.count >= threshold, System.cores > 1, items.count > 1 else { return items.map(transform) }
        let workers = min(System.cores, items.count)
        return [T](unsafeUninitializedCapacity: items.count) { buffer, initialized in
            let slots = Slots(buffer)
            // Interleaved: neighbouring files (often alike in size) go to different workers.
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for index in stride(from: worker, to: items.count, by: workers) { slots.initialize(index, transform(items[index])) }
            }
            initialized = items.count
        }
    }

    /// The array's slots, each initialized by exactly one worker before `concurrentPerform` returns.
    private struct Slots<T>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<T>
        init(_ buffer: UnsafeMutableBufferPointer<T>) { self.buffer = buffer }
        func initialize(_ index: Int, _ value: T) { (buffer.baseAddress! + index).initialize(to: value) }
    }

    enum System {
        /// Online processors, at least 1 and at most 8 (more threads than that wait on the disk
        /// and the allocator more than they decode).
        static let cores = min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1), 8)
    }
}
