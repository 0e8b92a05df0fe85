import CRunwaySystem
import Foundation

/// posix_spawn with what Runway's children need, in one place: the launcher's runner tasks, the
/// runner's job commands, the tests' and benchmarks' `runway` processes. Every child gets
/// default signal handling, stdin from /dev/null, and no descriptor of ours beyond 0–2.
public enum ProcessSpawner {
    /// Where a child's stdout or stderr goes.
    public enum Output: Sendable {
        case null
        /// A file, created if missing; `append` keeps what is there.
        case file(String, append: Bool)
        /// A descriptor of ours (a pipe's write end).
        case descriptor(Int32)
    }

    public struct Options: Sendable {
        public var argv: [String]
        /// The whole environment; nil inherits ours.
        public var environment: [String: String]?
        public var workingDirectory: String?
        /// Start a new process group led by the child (so one signal reaches all it starts).
        public var newProcessGroup = false
        public var stdout: Output = .null
        /// nil: the same as stdout.
        public var stderr: Output?

        public init(argv: [String], environment: [String: String]? = nil) {
            self.argv = argv
            self.environment = environment
        }
    }

    /// Starts the child; a program name without `/` is looked up in PATH.
    /// - Throws: ``SpawnError`` when the program cannot be started.
    public static func spawn(_ options: Options) throws(SpawnError) -> pid_t {
        guard let program = options.argv.first else { throw SpawnError(program: "", code: EINVAL) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if options.newProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        add(options.stdout, as: 1, to: &actions)
        if let stderr = options.stderr { add(stderr, as: 2, to: &actions) } else { posix_spawn_file_actions_adddup2(&actions, 1, 2) }
        runway_spawn_file_actions_addclosefrom(&actions, 3)
        if let directory = options.workingDirectory { runway_spawn_file_actions_addchdir(&actions, directory) }

        let arguments = options.argv.map { strdup($0) } + [nil]
        let environment = (options.environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            arguments.forEach { free($0) }
            environment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = program.contains("/")
            ? posix_spawn(&pid, program, &actions, &attributes, arguments, environment)
            : posix_spawnp(&pid, program, &actions, &attributes, arguments, environment)
        guard result == 0 else { throw SpawnError(program: program, code: result) }
        return pid
    }

    private static func add(_ output: Output, as fd: Int32, to actions: inout posix_spawn_file_actions_t) {
        switch output {
        case .null:
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
        case .file(let path, let append):
            posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        case .descriptor(let source):
            posix_spawn_file_actions_adddup2(&actions, source, fd)
        }
    }

    /// Waits for `pid` to end (blocking this thread: call it off the cooperative pool).
    public static func wait(_ pid: pid_t) -> ProcessExit? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return nil }
        }
        return ProcessExit(waitStatus: status)
    }

    /// The child's end if it has ended, without blocking.
    public static func poll(_ pid: pid_t) -> ProcessExit? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? ProcessExit(waitStatus: status) : nil
    }
}

/// How a child ended.
public enum ProcessExit: Sendable, Hashable {
    case exited(Int32)
    case signaled(Int32)

    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// The shell's convention: the exit code, or 128 + the signal.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }

    public var signal: Int32? {
        if case .signaled(let signal) = self { return signal }
        return nil
    }
}

/// A program that could not be started, with the system's reason.
public struct SpawnError: Error, CustomStringConvertible {
    public var program: String
    public var code: Int32

    public var description: String { "cannot start \(program): \(String(cString: strerror(code)))" }
}
