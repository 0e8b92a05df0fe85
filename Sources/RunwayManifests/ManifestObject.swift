import RunwayModel

/// One decoded manifest document, with the source positions cross-object checks point at.
/// A profile is boxed too (`indirect`): an enum is as large as its largest case, and a cache of
/// 100,000 one-job files keeps an array of these per file.
enum ManifestObject {
    indirect case profile(RunnerProfile, defaultAt: SourceLocation?)
    /// The spec boxed, so the job made of it shares it (``Job/init(box:profile:)``).
    case job(JobSpecBox, profileAt: SourceLocation?)

    var kind: String {
        switch self {
        case .profile: ManifestDecoder.Kind.runnerProfile.rawValue
        case .job: ManifestDecoder.Kind.job.rawValue
        }
    }

    var name: String {
        switch self {
        case .profile(let profile, _): profile.name
        case .job(let job, _): job.spec.name
        }
    }

    var location: SourceLocation {
        switch self {
        case .profile(let profile, _): profile.location
        case .job(let job, _): job.spec.location
        }
    }
}
