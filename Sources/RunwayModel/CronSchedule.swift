import Foundation

/// A 5-field cron expression (`minute hour day-of-month month day-of-week`), or one of
/// `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, read as
/// Kubernetes CronJob reads it: lists (`1,15`), ranges (`1-5`), steps (`*/10`, `0-30/5`, `5/15`),
/// month and weekday names (`JAN`, `mon`), 0 or 7 for Sunday. When both day fields are
/// restricted, a day matching either runs (the classic cron rule).
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    let minutes: [Int]
    let hours: [Int]
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let dayOfMonthRestricted: Bool
    let weekdayRestricted: Bool

    public var description: String { text }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Parses `text`; the error says which field is wrong and why.
    public init(_ text: String) throws(CronError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        self.text = trimmed
        let expanded: String
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                throw CronError("unknown macro '\(trimmed)'; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
            }
            expanded = macro
        } else {
            expanded = trimmed
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronError("a schedule has 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minutes = try Self.field(fields[0], "minute", 0...59).sorted()
        hours = try Self.field(fields[1], "hour", 0...23).sorted()
        daysOfMonth = Set(try Self.field(fields[2], "day-of-month", 1...31))
        months = Set(try Self.field(fields[3], "month", 1...12, names: Self.monthNames, firstName: 1))
        weekdays = Set(try Self.field(fields[4], "day-of-week", 0...7, names: Self.weekdayNames, firstName: 0).map { $0 % 7 })
        dayOfMonthRestricted = !fields[2].hasPrefix("*") && !fields[2].hasPrefix("?")
        weekdayRestricted = !fields[4].hasPrefix("*") && !fields[4].hasPrefix("?")
    }

    private static func field(_ text: String, _ name: String, _ bounds: ClosedRange<Int>, names: [String] = [], firstName: Int = 0)
        throws(CronError) -> Set<Int>
    {
        func number(_ part: Substring) throws(CronError) -> Int {
            if let value = Int(part), bounds.contains(value) { return value }
            if let index = names.firstIndex(of: part.uppercased()) { return index + firstName }
            throw CronError("\(name) field '\(text)': '\(part)' is not in \(bounds.lowerBound)-\(bounds.upperBound)"
                + (names.isEmpty ? "" : " or a name like \(names[0])"))
        }
        var values = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw CronError("\(name) field '\(text)' has an empty list item") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw CronError("\(name) field '\(text)': '\(item)' has more than one '/'") }
            var step = 1
            if parts.count == 2 {
                guard let value = Int(parts[1]), value > 0 else { throw CronError("\(name) field '\(text)': step '\(parts[1])' is not a positive number") }
                step = value
            }
            let range: ClosedRange<Int>
            if parts[0] == "*" || parts[0] == "?" {
                range = bounds
            } else if let dash = parts[0].firstIndex(of: "-") {
                let low = try number(parts[0][..<dash]), high = try number(parts[0][parts[0].index(after: dash)...])
                guard low <= high else { throw CronError("\(name) field '\(text)': range '\(parts[0])' runs backwards") }
                range = low...high
            } else {
                let start = try number(parts[0])
                range = start...(parts.count == 2 ? bounds.upperBound : start)
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    /// The first tick strictly after `date`, in `timeZone`; nil when none comes within five
    /// years (`0 0 30 2 *`).
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        walk(from: date, in: timeZone, step: 1) { $0.first { $0 > date } }
    }

    /// The last tick at or before `date`, in `timeZone`; nil when none within five years.
    public func previous(atOrBefore date: Date, in timeZone: TimeZone) -> Date? {
        walk(from: date, in: timeZone, step: -1) { $0.last { $0 <= date } }
    }

    /// Day by day from `date`'s day (`step` 1 forward, -1 back) for at most five years, the first
    /// tick `pick` takes from a day's ticks.
    private func walk(from date: Date, in timeZone: TimeZone, step: Int, _ pick: ([Date]) -> Date?) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var day = calendar.startOfDay(for: date)
        for _ in 0..<(5 * 366) {
            if let tick = pick(ticks(on: day, calendar)) { return tick }
            guard let other = calendar.date(byAdding: .day, value: step, to: day) else { return nil }
            day = other
        }
        return nil
    }

    /// The ticks of the day starting at `day`, in order. A local time a daylight-saving change
    /// skips runs at the instant the clock jumps to; one it repeats runs once.
    private func ticks(on day: Date, _ calendar: Calendar) -> [Date] {
        let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
        guard let year = parts.year, let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday,
            months.contains(month)
        else { return [] }
        let domMatch = daysOfMonth.contains(dayOfMonth), dowMatch = weekdays.contains(weekday - 1)
        let matches = dayOfMonthRestricted && weekdayRestricted ? (domMatch || dowMatch) : (domMatch && dowMatch)
        guard matches else { return [] }
        var result: [Date] = []
        for hour in hours {
            for minute in minutes {
                let components = DateComponents(year: year, month: month, day: dayOfMonth, hour: hour, minute: minute)
                guard let tick = calendar.date(from: components), result.last.map({ tick > $0 }) ?? true else { continue }
                result.append(tick)
            }
        }
        return result
    }
}

/// Why a cron expression was refused.
public struct CronError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
