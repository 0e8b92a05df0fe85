import Dispatch
import Foundation
import Synchronization

/// Forwards SIGTERM (and SIGINT) received by the runner to the job, once, and remembers it.
/// `sources` is written only in `init` and read in `stop()`; Dispatch serializes their handlers.
final class SignalForwarder: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let firedFlag = Atomic<Bool>(false)

    init(to pid: Int32) {
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            sources.append(source)
        }
        self.sources = sources
        for source in sources {
            source.setEventHandler { [weak self] in
                self?.firedFlag.store(true, ordering: .relaxed)
                kill(pid, SIGTERM)
            }
            source.resume()
        }
    }

    var fired: Bool { firedFlag.load(ordering: .relaxed) }

    /// Stops forwarding; SIGTERM and SIGINT end the runner itself again (a stop while it is still
    /// delivering its report must not wait out the whole grace period).
    func stop() {
        sources.forEach { $0.cancel() }
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
    }
}
