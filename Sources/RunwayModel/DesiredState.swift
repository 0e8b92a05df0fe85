/// What should exist, as loaded from a manifest directory: the profiles and the jobs, by name.
public struct DesiredState: Sendable, Hashable {
    public var profiles: [String: RunnerProfile]
    public var jobs: [String: Job]

    public init(profiles: [String: RunnerProfile] = [:], jobs: [String: Job] = [:]) {
        self.profiles = profiles
        self.jobs = jobs
    }

    /// The profile marked `default: true`, if exactly one is.
    public var defaultProfile: RunnerProfile? {
        let defaults = profiles.values.filter(\.isDefault)
        return defaults.count == 1 ? defaults.first : nil
    }
}
