import RunwayModel

extension ManifestLoader {
    /// A load of named files that changes only jobs, done without looking at the others: when
    /// the last load was clean (no diagnostic at all) and the files read again hold jobs only,
    /// each job name defined once, on profiles that exist, with no `after` and named in no other
    /// job's `after`, and no image the profile refuses, the checks across files can only pass,
    /// so the last desired state is patched with those jobs. Nil (nothing changed) otherwise:
    /// the caller loads as usual, which reports whatever is wrong.
    func quickLoad(stale: Set<String>, removed: [ManifestObject], roots: [String], cache: inout ManifestCache) -> ManifestLoad? {
        guard let last = cache.clean, !removed.contains(where: \.isProfile) else { return nil }
        var decoded: [String: DecodedFile] = [:]
        var before = Set(removed.map(\.name))
        var specs: [String: JobSpecBox] = [:]
        for file in stale {
            guard !cache.configFiles.contains(PathNames.normalized(file)) else { return nil }
            let old = cache.files[file]?.objects ?? []
            let new = loadFile(file, roots: roots, settleWindow: cache.settleNanoseconds)
            guard new.fingerprint != nil, new.diagnostics.isEmpty, !old.contains(where: \.isProfile) else { return nil }
            before.formUnion(old.map(\.name))
            for object in new.objects {
                guard case .job(let box, _) = object, specs.updateValue(box, forKey: box.spec.name) == nil else { return nil }
            }
            decoded[file] = new
        }
        var jobs = last.desired.jobs
        for name in before where specs[name] == nil {
            guard !last.referenced.contains(name) else { return nil }
            jobs[name] = nil
        }
        for (name, box) in specs {
            let spec = box.spec
            // Defined in a file not read again as well: a duplicate, which the full checks report.
            guard before.contains(name) || last.desired.jobs[name] == nil, spec.after.isEmpty, !last.referenced.contains(name)
            else { return nil }
            let profile = if let name = spec.profile { last.desired.profiles[name] } else { last.desired.defaultProfile }
            guard let profile else { return nil }
            if spec.image != nil, ManifestValidator.imageRefusal(profile) != nil { return nil }
            jobs[name] = Job(box: box, profile: profile.name)
        }
        for (file, new) in decoded { cache.files[file] = new }
        let desired = DesiredState(profiles: last.desired.profiles, jobs: jobs)
        cache.lastJobs = jobs
        cache.clean = .init(desired: desired, referenced: last.referenced)
        cache.reusedLastLoad = cache.order.count - stale.count
        cache.quickLoads += 1
        var load = ManifestLoad(desired: desired, diagnostics: [], fileCount: cache.order.count - cache.configFiles.count)
        load.changedJobs = before.union(specs.keys)
        return load
    }
}

extension ManifestObject {
    var isProfile: Bool {
        if case .profile = self { true } else { false }
    }
}
