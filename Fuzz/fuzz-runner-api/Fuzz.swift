import RunwayFuzzing

// Built by scripts/fuzz with `-sanitize=fuzzer -D FUZZING`: libFuzzer provides main and calls
// this entry. Built normally, the executable replays the files named on its command line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.runnerAPI(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if !FUZZING
@main
struct Replay {
    static func main() { FuzzTargets.replay { "HTTP \(FuzzTargets.runnerAPI($0))" } }
}
#endif
