@testable import MicroCore
import NIOConcurrencyHelpers
import Testing

@Suite(.serialized) struct OwnedTasksTests {
    /// A body that runs until cancelled and records that it ended.
    private func untilCancelled(_ ended: NIOLockedValueBox<Int>) -> @Sendable () async -> Void {
        {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(2)) }
            ended.withLockedValue { $0 += 1 }
        }
    }

    @Test func closeCancelsEveryTaskWaitsForItAndRefusesNewOnes() async {
        let tasks = OwnedTasks()
        let ended = NIOLockedValueBox(0)
        let before = TaskCensus.running
        for _ in 0..<5 { #expect(tasks.spawn(untilCancelled(ended)) != nil) }
        #expect(tasks.count == 5)
        await tasks.close()
        #expect(ended.withLockedValue { $0 } == 5)   // every body ended before close returned
        #expect(tasks.count == 0)
        #expect(TaskCensus.running == before)
        let ran = NIOLockedValueBox(false)
        #expect(tasks.spawn { ran.withLockedValue { $0 = true } } == nil)
        try? await Task.sleep(for: .milliseconds(20))
        #expect(!ran.withLockedValue { $0 })
    }

    @Test func cancelEndsOneTaskAndLeavesTheOthers() async {
        let tasks = OwnedTasks()
        let ended = NIOLockedValueBox(0)
        let first = tasks.spawn(untilCancelled(ended))
        _ = tasks.spawn(untilCancelled(ended))
        tasks.cancel(first!)
        let one = await eventually { ended.withLockedValue { $0 } == 1 && tasks.count == 1 }
        #expect(one)
        await tasks.close()
        #expect(ended.withLockedValue { $0 } == 2)
    }

    @Test func aTaskThatEndsByItselfLeavesNothingBehind() async {
        let tasks = OwnedTasks()
        for _ in 0..<100 { tasks.spawn {} }
        let drained = await eventually { tasks.count == 0 }
        #expect(drained)
        tasks.cancel(OwnedTasks.ID(value: 1))   // already finished: nothing to do
        await tasks.close()
    }

    @Test func closeWithoutCancellingWaitsForTasksToEndOnTheirOwn() async {
        let tasks = OwnedTasks()
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let cancelled = NIOLockedValueBox<Bool?>(nil)
        tasks.spawn {
            for await _ in release {}
            cancelled.withLockedValue { $0 = Task.isCancelled }
        }
        let closing = Task { await tasks.close(cancelling: false) }
        try? await Task.sleep(for: .milliseconds(20))
        #expect(cancelled.withLockedValue { $0 } == nil)   // still waiting for the task
        releaser.finish()
        await closing.value
        #expect(cancelled.withLockedValue { $0 } == false)
    }
}
