import NIOConcurrencyHelpers
import NIOCore

/// Runs Swift tasks on a SwiftNIO event loop, so a connection's task and its channel share one
/// thread: no hop between the event loop and the global executor on each request.
package final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    /// Safety: immutable after init; EventLoop is thread-safe.
    package let eventLoop: any EventLoop

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }

    private static let executors = NIOLockedValueBox([ObjectIdentifier: EventLoopTaskExecutor]())

    /// The one executor for an event loop.
    package static func of(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        let key = ObjectIdentifier(eventLoop)
        return executors.withLockedValue { all in
            if let e = all[key] { return e }
            let e = EventLoopTaskExecutor(eventLoop: eventLoop)
            all[key] = e
            return e
        }
    }
}
