import Foundation
import RunwayModel
import Testing

/// A record keeps its rarely set fields in a shared box of their own: it must behave exactly as
/// if they were plain fields (value semantics, equality, hashing).
@Suite struct JobRecordTests {
    let base = JobRecord(
        job: "build", generation: Generation(digest: "0123456789abcdef"), profile: "p", state: .pending, attempt: 0,
        createdAt: Date(timeIntervalSinceReferenceDate: 800_000_000))

    @Test func rareFieldsAreValues() {
        var first = base
        first.origin = "rerun by alice"
        first.scheduledAfter = Date(timeIntervalSinceReferenceDate: 1)
        var second = first  // shares the box
        second.origin = "schedule tick"
        second.upstream = "test@01234567"
        #expect(first.origin == "rerun by alice" && first.upstream == nil)
        #expect(second.origin == "schedule tick" && second.upstream == "test@01234567")
        #expect(second.scheduledAfter == first.scheduledAfter)
        #expect(first != second)
    }

    @Test func recordsWithTheSameFieldsAreEqualHowEverTheyWereSet() {
        var set = base
        set.rerunToken = "2"
        set.nextAttemptAt = Date(timeIntervalSinceReferenceDate: 5)
        var same = base
        same.nextAttemptAt = Date(timeIntervalSinceReferenceDate: 5)
        same.rerunToken = "2"
        #expect(set == same && set.hashValue == same.hashValue)
        // Set and cleared again: as if never set.
        set.rerunToken = nil
        set.nextAttemptAt = nil
        #expect(set == base && set.hashValue == base.hashValue)
        #expect(Set([set, base, same]).count == 2)
    }

    @Test func everyRareFieldIsKept() {
        var record = base
        let time = Date(timeIntervalSinceReferenceDate: 7)
        record.nextAttemptAt = time
        record.origin = "o"
        record.rerunToken = "r"
        record.upstream = "u"
        record.scheduledAfter = time.addingTimeInterval(1)
        record.scheduledFor = time.addingTimeInterval(2)
        #expect(record.nextAttemptAt == time && record.origin == "o" && record.rerunToken == "r" && record.upstream == "u")
        #expect(record.scheduledAfter == time.addingTimeInterval(1) && record.scheduledFor == time.addingTimeInterval(2))
        let made = JobRecord(job: "build", generation: base.generation, profile: "p", state: .pending, attempt: 0, createdAt: base.createdAt, nextAttemptAt: time)
        #expect(made.nextAttemptAt == time)
    }

    /// A controller keeps 100,000 of them: the common fields stay packed (168 bytes; 256 when
    /// every field was stored in the record and in declaration order).
    @Test func aRecordStaysSmall() {
        #expect(MemoryLayout<JobRecord>.stride <= 168)
    }
}

@Suite struct SparseDictionaryTests {
    @Test func aTableThatEmptiedGivesItsStorageBackAndKeepsItsEntries() {
        var table: [String: Int] = [:]
        for index in 0..<10_000 { table["k\(index)"] = index }
        let grown = table.capacity
        for index in 10..<10_000 { table.removeReleasing("k\(index)") }
        #expect(table.count == 10)
        #expect(table.capacity < grown / 100)
        for index in 0..<10 { #expect(table["k\(index)"] == index) }
        #expect(table.removeReleasing("k0") == 0 && table.removeReleasing("absent") == nil)
    }
}
