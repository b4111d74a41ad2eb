#if canImport(Glibc)
import Glibc
#endif

/// How a process ended: an exit status, a signal, or unknown (a process the runtime adopted is not its
/// child, so its status cannot be read).
enum ProcessExit: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    case unknown

    /// Decodes a `waitpid` status.
    init(waitStatus status: CInt) {
        if status & 0x7F == 0 {
            self = .exited((status >> 8) & 0xFF)
        } else {
            self = .signalled(status & 0x7F)
        }
    }

    var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signalled(let signal): return "killed by signal \(signal)"
        case .unknown: return "ended (status unknown)"
        }
    }
}
