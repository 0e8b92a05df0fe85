import Foundation
import RunwayModel

extension ManifestDecoder {
    /// The fields that say when a job runs, none of them part of its generation: `rerun`,
    /// `after`, `schedule` with `timeZone`, `concurrencyPolicy`, `startingDeadline` and
    /// `suspend`, and `historyLimit`.
    func decodeRunFields(_ job: inout JobSpec, spec: inout MappingReader, diagnostics: inout [Diagnostic]) {
        if let node = spec.value("rerun"), let token = node.string("spec.rerun", diagnostics: &diagnostics) {
            job.rerun = token
        }
        if let node = spec.value("after") {
            if let items = node.items {
                for item in items {
                    guard let name = item.string("spec.after[]", diagnostics: &diagnostics) else { continue }
                    if name == job.name {
                        diagnostics.append(.error("dependency-cycle", "job '\(name)' lists itself in 'spec.after'", at: item.location))
                    } else if job.after.contains(name) {
                        diagnostics.append(.error("duplicate-name", "'spec.after' names '\(name)' twice", at: item.location))
                    } else {
                        job.after.append(name)
                        job.afterLocations.append(item.location)
                    }
                }
            } else {
                diagnostics.append(node.wrongType("spec.after", expected: "a list of job names"))
            }
        }
        if let node = spec.value("historyLimit"), let limit = node.integer("spec.historyLimit", diagnostics: &diagnostics) {
            if (1...10_000).contains(limit) {
                job.historyLimit = limit
            } else {
                diagnostics.append(.error("out-of-range", "'spec.historyLimit' must be between 1 and 10000, found \(limit)", at: node.location))
            }
        }
        decodeSchedule(&job, spec: &spec, diagnostics: &diagnostics)
    }

    private func decodeSchedule(_ job: inout JobSpec, spec: inout MappingReader, diagnostics: inout [Diagnostic]) {
        let scheduleNode = spec.value("schedule")
        let zoneNode = spec.value("timeZone"), policyNode = spec.value("concurrencyPolicy")
        let deadlineNode = spec.value("startingDeadline"), suspendNode = spec.value("suspend")
        guard let scheduleNode else {
            for (node, field) in [(zoneNode, "timeZone"), (policyNode, "concurrencyPolicy"), (deadlineNode, "startingDeadline"), (suspendNode, "suspend")] {
                if let node {
                    diagnostics.append(.error("needs-schedule", "'spec.\(field)' applies only to a scheduled job", at: node.location,
                        hint: "add 'spec.schedule' (cron, like \"0 2 * * *\"), or remove 'spec.\(field)'"))
                }
            }
            return
        }
        guard let text = scheduleNode.string("spec.schedule", diagnostics: &diagnostics) else { return }
        let cron: CronSchedule
        do {
            cron = try CronSchedule(text)
        } catch {
            diagnostics.append(.error("bad-schedule", "'spec.schedule': \(error.description)", at: scheduleNode.location,
                hint: "5 fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @weekly, @monthly, @yearly"))
            return
        }
        var schedule = JobSchedule(cron: cron)
        if let zoneNode, let name = zoneNode.string("spec.timeZone", diagnostics: &diagnostics) {
            if let zone = TimeZone(identifier: name) {
                schedule.timeZone = zone
            } else {
                diagnostics.append(.error("bad-value", "'spec.timeZone' '\(name)' is not a time zone name", at: zoneNode.location,
                    hint: "an IANA name like UTC, Europe/Berlin or America/New_York"))
            }
        }
        if let policyNode, let name = policyNode.string("spec.concurrencyPolicy", diagnostics: &diagnostics) {
            if let policy = JobSchedule.ConcurrencyPolicy(rawValue: name) {
                schedule.concurrencyPolicy = policy
            } else {
                let names = JobSchedule.ConcurrencyPolicy.allCases.map(\.rawValue)
                diagnostics.append(.error("bad-value", "'spec.concurrencyPolicy' must be one of \(names.joined(separator: ", ")), found '\(name)'",
                    at: policyNode.location, hint: Suggestion.closest(to: name, in: names).map { "did you mean '\($0)'?" }))
            }
        }
        if let deadlineNode, let deadline = deadlineNode.duration("spec.startingDeadline", diagnostics: &diagnostics) {
            schedule.startingDeadline = deadline
        }
        if let suspendNode, let suspend = suspendNode.bool("spec.suspend", diagnostics: &diagnostics) {
            schedule.suspend = suspend
        }
        job.schedule = schedule
    }
}
