public import HashTreeCollections

/// What should exist, as loaded from a manifest directory: the profiles and the jobs, by name.
/// The jobs are a persistent map (``TreeDictionary``): the desired state is held by the loader,
/// the control loop and the health report at once, and a load that changes a few of 100,000
/// jobs makes a new one sharing all but a few nodes with the last, instead of a copy of it.
public struct DesiredState: Sendable, Hashable {
    public typealias Jobs = TreeDictionary<String, Job>

    public var profiles: [String: RunnerProfile]
    public var jobs: Jobs

    public init(profiles: [String: RunnerProfile] = [:], jobs: Jobs = [:]) {
        self.profiles = profiles
        self.jobs = jobs
    }

    public init(profiles: [String: RunnerProfile] = [:], jobs: [String: Job]) {
        self.init(profiles: profiles, jobs: Jobs(jobs))
    }

    /// The profile marked `default: true`, if exactly one is.
    public var defaultProfile: RunnerProfile? {
        let defaults = profiles.values.filter(\.isDefault)
        return defaults.count == 1 ? defaults.first : nil
    }
}
