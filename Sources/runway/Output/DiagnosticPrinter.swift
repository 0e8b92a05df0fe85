import Foundation
import RunwayManifests
import RunwayModel

/// Prints diagnostics compiler-style, one line each, on standard error.
enum DiagnosticPrinter {
    static func printToStandardError(_ diagnostics: [Diagnostic]) {
        var text = ""
        for diagnostic in diagnostics { text += diagnostic.description + "\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The one-line outcome of a load, and its JSON form.
struct ValidationSummary {
    let load: ManifestLoad
    let paths: [String]

    var text: String {
        let errors = load.diagnostics.filter { $0.severity == .error }.count
        let warnings = load.diagnostics.count - errors
        var line = "\(paths.joined(separator: " ")): \(count(load.desired.profiles.count, "profile")), "
            + "\(count(load.desired.jobs.count, "job")) in \(count(load.fileCount, "file"))"
        line += errors == 0 ? ": valid" : ": invalid, \(count(errors, "error"))"
        if warnings > 0 { line += ", \(count(warnings, "warning"))" }
        return line
    }

    struct Document: Encodable {
        var valid: Bool
        var files: Int
        var profiles: Int
        var jobs: Int
        var diagnostics: [DiagnosticDocument]
    }

    struct DiagnosticDocument: Encodable {
        var severity: String
        var code: String
        var message: String
        var hint: String?
        var path: String
        var line: Int
        var column: Int
    }

    var document: Document {
        Document(
            valid: load.isValid, files: load.fileCount, profiles: load.desired.profiles.count,
            jobs: load.desired.jobs.count,
            diagnostics: load.diagnostics.map {
                DiagnosticDocument(
                    severity: $0.severity.rawValue, code: $0.code, message: $0.message, hint: $0.hint,
                    path: $0.location.path, line: $0.location.line, column: $0.location.column)
            })
    }

    private func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
