import Foundation
import Logging
import RunwayModel

/// Sends the job's output to the controller in order: consecutive pieces of one stream are
/// joined up to the chunk limit, each chunk carries the next sequence number, and a chunk is
/// retried until accepted, so nothing is lost or reordered.
struct LogShipper: Sendable {
    let client: ControllerClient
    let attemptID: String
    let maxChunk: Int
    let logger: Logger

    /// Ships everything `output` gives until it ends; nil when all of it reached the controller,
    /// else from which byte it did not and why (what was left is still drained, so the job never
    /// blocks on a full pipe). Output the controller cut at its cap counts as delivered.
    func ship(_ output: OutputQueue) async -> String? {
        var seq = 0
        var shipped = 0
        var undelivered: String?
        while let pieces = await output.take() {
            guard undelivered == nil else { continue }
            for (stream, bytes) in chunks(pieces) {
                switch await send(seq: seq, stream: stream, bytes: bytes) {
                case .accepted:
                    seq += 1
                    shipped += bytes.count
                    continue
                case .cut:
                    logger.notice("the controller cut this job's output at its cap; the rest is not sent")
                    undelivered = ""
                case .failed(let why):
                    undelivered = "output from byte \(shipped) (chunk \(seq)) on was not shipped: \(why)"
                }
                break
            }
        }
        return undelivered.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Joins consecutive pieces of the same stream, splitting at `maxChunk`.
    func chunks(_ pieces: [(LogChunk.Stream, [UInt8])]) -> [(LogChunk.Stream, [UInt8])] {
        var result: [(LogChunk.Stream, [UInt8])] = []
        for (stream, bytes) in pieces {
            var rest = bytes[...]
            while !rest.isEmpty {
                if let last = result.last, last.0 == stream, last.1.count < maxChunk {
                    let room = maxChunk - last.1.count
                    result[result.count - 1].1 += rest.prefix(room)
                    rest = rest.dropFirst(room)
                } else {
                    result.append((stream, Array(rest.prefix(maxChunk))))
                    rest = rest.dropFirst(maxChunk)
                }
            }
        }
        return result
    }

    enum Delivery { case accepted, cut, failed(String) }

    /// Delivers one chunk, retrying for about two minutes; `.failed` when the controller is
    /// gone or refuses it, `.cut` when it took it and wants no more.
    private func send(seq: Int, stream: LogChunk.Stream, bytes: [UInt8]) async -> Delivery {
        var delay = 0.1
        for attempt in 1...25 {
            do {
                return try await client.appendLog(attemptID: attemptID, seq: seq, stream: stream, bytes: bytes) ? .cut : .accepted
            } catch let error as RunnerError where !error.isRetryable {
                logger.error("log chunk refused; output is no longer shipped", metadata: ["seq": "\(seq)", "error": "\(error)"])
                return .failed("refused: \(error)")
            } catch {
                logger.warning("log chunk not delivered yet", metadata: ["seq": "\(seq)", "try": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 8)
            }
        }
        logger.error("controller unreachable; output is no longer shipped", metadata: ["seq": "\(seq)"])
        return .failed("the controller did not take it in 25 tries")
    }
}
