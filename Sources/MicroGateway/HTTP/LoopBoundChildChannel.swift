import HummingbirdCore
import Logging
import MicroHTTP
import NIOCore

/// A Hummingbird child channel whose connections are served on their own event loop: the connection's
/// task (and the calls it makes through a loop-aware client) prefer the loop as their executor, so a
/// request does not hop between the loop's thread and Swift's global executor. With a first-head
/// timeout, ``FirstHeadTimeoutHandler`` guards the connection until its first request head is read.
struct LoopBoundChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    var firstHeadTimeout: TimeAmount?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let timeout = firstHeadTimeout else { return inner.setup(channel: channel, logger: logger) }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstHeadTimeoutHandler(timeout: timeout))
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor.of(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}
