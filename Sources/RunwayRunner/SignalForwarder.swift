import Dispatch
import Foundation
import RunwayProcess
import Synchronization

/// Passes SIGTERM (and SIGINT) received by the runner on to every process of the job (its main
/// process, its process group, and descendants that left the group), and remembers it.
/// `sources` is written only in `init` and read in `stop()`; Dispatch serializes their handlers.
final class SignalForwarder: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let firedFlag = Atomic<Bool>(false)

    init() {
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            sources.append(source)
        }
        self.sources = sources
        let runner = getpid()
        for source in sources {
            source.setEventHandler { [weak self] in
                self?.firedFlag.store(true, ordering: .relaxed)
                ProcessTree.signalDescendants(of: runner, SIGTERM)
            }
            source.resume()
        }
    }

    var fired: Bool { firedFlag.load(ordering: .relaxed) }

    /// Stops forwarding; from now on SIGTERM and SIGINT end the runner at once (a stop while it is
    /// still delivering its report must not wait out the whole grace period). A handler, not the
    /// default action: as a container's PID 1 the runner would otherwise ignore both.
    func stop() {
        sources.forEach { $0.cancel() }
        signal(SIGTERM) { _exit(128 + $0) }
        signal(SIGINT) { _exit(128 + $0) }
    }
}
