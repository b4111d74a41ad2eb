import Foundation
import NIOCore

/// CPU time (user + system) of this process's threads other than some excluded ones, from
/// `/proc/self/task/*/stat`: what the servers in the bench process spent, without the load generator's
/// event loop threads. In seconds, at the kernel's tick (10 ms); threads that ended are not counted.
struct ThreadCPU: Sendable {
    /// The kernel thread ids left out.
    let excluded: Set<Int32>

    /// Leaves out the threads of `group`'s event loops (the load generator's).
    static func excluding(_ group: any EventLoopGroup) async throws -> ThreadCPU {
        var tids: Set<Int32> = []
        for loop in group.makeIterator() {
            // `/proc/thread-self` links to `<pid>/task/<tid>` of the thread that reads it.
            let link = try await loop.submit { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") }.get()
            if let tid = link.split(separator: "/").last.flatMap({ Int32($0) }) { tids.insert(tid) }
        }
        return ThreadCPU(excluded: tids)
    }

    /// The CPU seconds used so far by the threads not excluded.
    func seconds() -> Double {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return .nan }
        var ticks = 0
        for name in tasks {
            guard let tid = Int32(name), !excluded.contains(tid), let stat = try? String(contentsOfFile: "/proc/self/task/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After the command's closing parenthesis: state (field 3) ... utime (14), stime (15).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
            ticks += user + system
        }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
