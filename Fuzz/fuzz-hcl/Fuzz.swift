import Foundation
import RunwayFuzzing

// Built by scripts/fuzz with `-sanitize=fuzzer -D FUZZING`: libFuzzer provides main and calls
// this entry. Built normally, the executable replays the files named on its command line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.hcl(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if !FUZZING
@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(1)
            }
            FuzzTargets.hcl(Array(data))
            print("\(path): ok")
        }
    }
}
#endif
