import CRunwaySystem
import Foundation

/// posix_spawn with what a runner task needs: its own process group (so a stop reaches the
/// job's children too), default signal handling, stdin from /dev/null, output to a file.
enum Spawner {
    static func spawn(argv: [String], environment: [String: String], output: String) throws -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        runway_spawn_file_actions_addclosefrom(&actions, 3)  // no controller socket or file leaks into a task

        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            arguments.forEach { free($0) }
            variables.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = argv[0].contains("/")
            ? posix_spawn(&pid, argv[0], &actions, &attributes, arguments, variables)
            : posix_spawnp(&pid, argv[0], &actions, &attributes, arguments, variables)
        guard result == 0 else {
            throw LauncherError(
                .invalidSpec, plugin: LocalLauncher.plugin, "cannot start \(argv[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
