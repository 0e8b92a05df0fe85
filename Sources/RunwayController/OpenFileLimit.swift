import CRunwaySystem

/// How many descriptors the controller may hold open. It holds one per runner connection (up to
/// `--max-connections`), one per live local task (its pidfd) and a few hundred of its own; a
/// stock Debian session or systemd service allows 1,024 (the soft limit; the hard one is far
/// higher), which 1,000 live local tasks exhaust: starts then fail to write their records, and
/// libraries that cannot open a descriptor stop the process. So `apply` and `controller` raise
/// the soft limit to the hard one, as servers do, up to ``ceiling``.
public enum OpenFileLimit {
    /// The most the soft limit is raised to. Local tasks inherit it; 65,536 keeps it within what
    /// container runtimes commonly give, so a job that walks every possible descriptor (closing
    /// them all before exec, as some daemons do) stays quick.
    public static let ceiling = 65_536
    /// Descriptors kept for what is not a runner connection: stores, logs, platforms, pidfds of
    /// a few hundred local tasks.
    public static let reserve = 1_024

    /// Raises the soft limit (see the type); returns the limit in force, nil when unknown.
    public static func raise() -> Int? {
        let limit = runway_raise_open_files_limit(ceiling)
        return limit >= 0 ? limit : nil
    }

    /// What to tell the operator when `limit` leaves too little room for `maxConnections`
    /// runner connections beside the reserve; nil when it is enough.
    public static func warning(limit: Int, maxConnections: Int) -> String? {
        guard limit < maxConnections + reserve else { return nil }
        return "the open-file limit is \(limit), fewer than --max-connections (\(maxConnections)) plus \(reserve) for the rest: "
            + "runner connections and local tasks past it fail; raise the hard limit (ulimit -Hn, systemd's LimitNOFILE=, the "
            + "container runtime's nofile) or lower --max-connections"
    }
}
