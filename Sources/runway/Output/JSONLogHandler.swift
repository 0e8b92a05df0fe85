import Foundation
import Logging

/// One JSON object per line on stderr: `time`, `level`, `label`, `message`, and every metadata
/// key (`job.name`, `attempt.id`, `task.name`, …) as its own field. For `--log-format json`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [
            "time": Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)),
            "level": event.level.rawValue,
            "label": label,
            "message": "\(event.message)",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(fields) else { return }
        line.append(0x0a)
        FileHandle.standardError.write(line)
    }
}

/// How log lines are written: `text` (swift-log's human lines) or `json`.
enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json
}
