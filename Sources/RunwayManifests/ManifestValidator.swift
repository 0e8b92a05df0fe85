import RunwayModel

/// Checks across objects and files: unique names per kind (naming both places), at most one
/// default profile (naming both), every job's profile resolved, and dependencies (`after`)
/// known and free of cycles. Produces the desired state.
struct ManifestValidator {
    /// `reusing`: jobs of an earlier load whose spec is known unchanged unless named in `except`
    /// (their files were not read again and no profile changed), taken as they are instead of
    /// digesting the spec again.
    func desiredState(
        from objects: [ManifestObject], diagnostics: inout [Diagnostic], reusing: DesiredState.Jobs = [:], except: Set<String> = []
    ) -> DesiredState {
        // Objects arrive in file order; the first definition wins and later ones are reported.
        // (Indices are sorted, not the objects: moving a job's whole spec costs more; a walk's
        // order is mostly sorted already, which one look tells.)
        let locations = objects.map(\.location)
        let isSorted = zip(locations, locations.dropFirst()).allSatisfy { !($1 < $0) }
        let ordered = (isSorted ? Array(objects.indices) : objects.indices.sorted { locations[$0] < locations[$1] }).lazy.map { objects[$0] }
        var profiles: [String: RunnerProfile] = [:]
        var specs: [(box: JobSpecBox, profileAt: SourceLocation?)] = []
        var seenJobs: [String: Int] = [:]  // index in specs
        var firstDefault: RunnerProfile?
        var ambiguousDefault = false

        for object in ordered {
            switch object {
            case .profile(let profile, let defaultAt):
                if let first = profiles[profile.name] {
                    diagnostics.append(duplicate(object, firstAt: first.location))
                    continue
                }
                profiles[profile.name] = profile
                guard let defaultAt else { continue }
                if let firstDefault {
                    ambiguousDefault = true
                    diagnostics.append(
                        .error("two-defaults",
                            "profile '\(profile.name)' is marked default, but '\(firstDefault.name)' already is (at \(firstDefault.location))",
                            at: defaultAt, hint: "at most one profile may be default"))
                } else {
                    firstDefault = profile
                }
            case .job(let box, let profileAt):
                // (box.spec's fields one by one: a copy of the whole spec retains each of them.)
                if let first = seenJobs[box.spec.name] {
                    diagnostics.append(duplicate(object, firstAt: specs[first].box.spec.location))
                    continue
                }
                seenJobs[box.spec.name] = specs.count
                specs.append((box, profileAt))
            }
        }

        var jobs: DesiredState.Jobs = [:]
        // Read here, once: iterating the jobs later copies each whole job.
        let withImage = specs.compactMap { $0.box.spec.image == nil ? nil : $0.box.spec.name }.sorted()
        let dependents = specs.compactMap { $0.box.spec.after.isEmpty ? nil : $0.box.spec.name }.sorted()
        // Each job's profile, then the jobs: those not taken from the last load get their
        // generation (a hash of the spec) on every core when there are many.
        var placed: [(box: JobSpecBox, profile: String)] = []
        placed.reserveCapacity(specs.count)
        for (box, profileAt) in specs {
            if let name = box.spec.profile {
                guard profiles[name] != nil else {
                    let hint = Suggestion.closest(to: name, in: profiles.keys.sorted()).map { "did you mean '\($0)'?" }
                    diagnostics.append(
                        .error("unknown-profile", "job '\(box.spec.name)' names profile '\(name)', which does not exist",
                            at: profileAt ?? box.spec.location, hint: hint))
                    continue
                }
                placed.append((box, name))
            } else if let firstDefault, !ambiguousDefault {
                placed.append((box, firstDefault.name))
            } else if !ambiguousDefault {
                diagnostics.append(
                    .error("no-profile", "job '\(box.spec.name)' names no profile and no profile is marked default",
                        at: box.spec.location, hint: "set 'spec.profile', or 'default: true' on one profile"))
            }
        }
        let made = ParallelMap.map(placed) { box, profile in
            job(box, profile: profile, reusing: except.contains(box.spec.name) ? [:] : reusing)
        }
        for job in made { jobs[job.name] = job }
        for name in withImage {
            guard let job = jobs[name], job.spec.image != nil, let profile = profiles[job.profile],
                let reason = Self.imageRefusal(profile)
            else { continue }
            diagnostics.append(.error("image-not-supported", "job '\(name)' sets 'spec.image', but its profile '\(job.profile)' \(reason)",
                at: job.spec.imageLocation ?? job.spec.location,
                hint: "run it on a docker, kubernetes, nomad (docker driver) or ecs profile, or drop 'spec.image' and use the profile's image"))
            jobs[name] = nil
        }
        if !dependents.isEmpty {
            jobs = DependencyCheck.valid(jobs, dependents: dependents, defined: Set(seenJobs.keys), diagnostics: &diagnostics)
        }
        return DesiredState(profiles: profiles, jobs: jobs)
    }

    /// Why a job's own image cannot be used on `profile`, or nil when the runner can be brought in.
    static func imageRefusal(_ profile: RunnerProfile) -> String? {
        switch profile.plugin {
        case "docker", "kubernetes": nil
        case "ecs" where profile.config?["taskDefinition"] != nil:
            "names its own taskDefinition, whose containers Runway does not change (the job's image needs a definition of Runway's)"
        case "ecs": nil
        case "nomad" where (profile.config?["driver"]?.scalar?.text ?? "docker") != "docker":
            "runs the \(profile.config?["driver"]?.scalar?.text ?? "") driver, which runs commands on the client, in no image"
        case "nomad": nil
        case "local": "runs its tasks as processes on this machine, in no image"
        default: "is plugin \(profile.plugin), which cannot bring the runner into a job's image"
        }
    }

    /// The job of `spec` on `profile`: the reusable one when it is that, else made (digested).
    private func job(_ box: JobSpecBox, profile: String, reusing: DesiredState.Jobs) -> Job {
        if let known = reusing[box.spec.name], known.profile == profile, known.spec.location == box.spec.location {
            return known.sharing(box)
        }
        return Job(box: box, profile: profile)
    }

    private func duplicate(_ object: ManifestObject, firstAt: SourceLocation) -> Diagnostic {
        .error("duplicate-name", "\(object.kind) '\(object.name)' is already defined at \(firstAt)", at: object.location)
    }
}
