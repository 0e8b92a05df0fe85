import Foundation
import RunwayModel
import Testing

@Suite struct CronScheduleTests {
    let utc = TimeZone(identifier: "UTC")!
    let start = ISO8601DateFormatter().date(from: "2026-11-30T10:17:00Z")!  // a Monday

    func next(_ text: String, after date: Date? = nil, in zone: TimeZone? = nil) throws -> String? {
        try CronSchedule(text).next(after: date ?? start, in: zone ?? utc).map { $0.formatted(.iso8601) }
    }

    @Test(arguments: [
        ("*/15 * * * *", "2026-11-30T10:30:00Z"),
        ("0 2 * * *", "2026-12-01T02:00:00Z"),
        ("@hourly", "2026-11-30T11:00:00Z"),
        ("@daily", "2026-12-01T00:00:00Z"),
        ("@midnight", "2026-12-01T00:00:00Z"),
        ("@weekly", "2026-12-06T00:00:00Z"),
        ("@monthly", "2026-12-01T00:00:00Z"),
        ("@yearly", "2027-01-01T00:00:00Z"),
        ("@annually", "2027-01-01T00:00:00Z"),
        ("30 9 * * MON-FRI", "2026-12-01T09:30:00Z"),
        ("0 0 1 JAN *", "2027-01-01T00:00:00Z"),
        ("0 12 * * 7", "2026-12-06T12:00:00Z"),
        ("5/20 10 * * *", "2026-11-30T10:25:00Z"),
        ("0 0 13 * FRI", "2026-12-04T00:00:00Z"),  // both day fields: either matches
        ("0 0 29 2 *", "2028-02-29T00:00:00Z"),
        ("1,2,3 10-12/2 * * *", "2026-11-30T12:01:00Z"),
    ])
    func nextTick(text: String, expected: String) throws {
        #expect(try next(text) == expected)
    }

    @Test func previousTickAndTimeZones() throws {
        let daily = try CronSchedule("0 2 * * *")
        #expect(daily.previous(atOrBefore: start, in: utc)?.formatted(.iso8601) == "2026-11-30T02:00:00Z")
        #expect(daily.previous(atOrBefore: ISO8601DateFormatter().date(from: "2026-11-30T02:00:00Z")!, in: utc)?.formatted(.iso8601)
            == "2026-11-30T02:00:00Z", "at or before")
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        #expect(try next("0 2 * * *", in: berlin) == "2026-12-01T01:00:00Z")
        // Spring forward in New York: 02:30 does not exist on 2027-03-14; it runs as the clock jumps.
        let newYork = TimeZone(identifier: "America/New_York")!
        let before = ISO8601DateFormatter().date(from: "2027-03-14T05:00:00Z")!
        let tick = try #require(try CronSchedule("30 2 * * *").next(after: before, in: newYork))
        #expect(tick > before && tick < before.addingTimeInterval(6 * 3600))
        #expect(try CronSchedule("0 0 30 2 *").next(after: start, in: utc) == nil, "February 30th never comes")
    }

    @Test(arguments: [
        ("* * * *", "a schedule has 5 fields (minute hour day-of-month month day-of-week), found 4"),
        ("60 * * * *", "minute field '60': '60' is not in 0-59"),
        ("* 24 * * *", "hour field '24': '24' is not in 0-23"),
        ("* * 0 * *", "day-of-month field '0': '0' is not in 1-31"),
        ("* * * FOO *", "month field 'FOO': 'FOO' is not in 1-12 or a name like JAN"),
        ("*/0 * * * *", "minute field '*/0': step '0' is not a positive number"),
        ("5-1 * * * *", "minute field '5-1': range '5-1' runs backwards"),
        ("1,,2 * * * *", "minute field '1,,2' has an empty list item"),
        ("@often", "unknown macro '@often'; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"),
    ])
    func rejects(text: String, message: String) {
        #expect(throws: CronError(message)) { try CronSchedule(text) }
    }
}
