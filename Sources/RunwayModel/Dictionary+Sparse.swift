extension Dictionary {
    /// Removes `key`'s value, and gives back the table's storage once it is mostly empty.
    ///
    /// A dictionary keeps the capacity it grew to: the controller's tables of work in flight
    /// (starts and stops, started tasks, local task records) grow to a burst's size and would
    /// hold that storage, and the pages around it, for as long as the process idles afterwards.
    @discardableResult
    public mutating func removeReleasing(_ key: Key) -> Value? {
        let removed = removeValue(forKey: key)
        if removed != nil { releaseIfSparse() }
        return removed
    }

    /// Moves the entries to a table sized for them when at most an eighth of the capacity is
    /// used (amortized: the table must have lost most of its entries since it was last sized).
    public mutating func releaseIfSparse() {
        guard capacity > 64, count <= capacity / 8 else { return }
        var smaller = Self(minimumCapacity: count)
        for (key, value) in self { smaller[key] = value }
        self = smaller
    }
}
