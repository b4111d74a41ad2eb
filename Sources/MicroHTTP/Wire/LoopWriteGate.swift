#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// One ``WritePacer`` for every stream writer on an event loop. NIO runs queued tasks until none
/// are left before it polls its sockets again, and twenty writers taking turns never leave none: an
/// accept or a unary call on that loop then waits seconds. When the loop's writers have had their
/// turn, each writer's next write waits until the loop has polled its sockets: the gate writes a
/// byte into a pipe of its own, registered on the loop, and opens when the selector reports it
/// readable (a timer could fire inside the same run of tasks). Touched only on its loop's thread.
final class LoopWriteGate: @unchecked Sendable {
    private static let gates = ThreadSpecificVariable<LoopWriteGate>()
    private let loop: any EventLoop
    private var pacer = WritePacer()
    /// Writers waiting for the loop to poll; nil while the gate is open.
    private var waiting: [EventLoopPromise<Void>]?
    /// The pipe whose readable byte opens the gate; nil until it is set up (or if it cannot be).
    private var signal: (any Channel)?

    private init(loop: any EventLoop) { self.loop = loop }

    /// The gate of the event loop this is called on.
    static func current(on loop: any EventLoop) -> LoopWriteGate {
        loop.preconditionInEventLoop()
        if let gate = gates.currentValue { return gate }
        let gate = LoopWriteGate(loop: loop)
        gates.currentValue = gate
        gate.openSignal()
        return gate
    }

    /// Counts a write: nil when the writer may go on at once, else a future that completes once the
    /// loop has polled its sockets.
    func wrote() -> EventLoopFuture<Void>? {
        if waiting == nil {
            guard pacer.wrote() else { return nil }
            waiting = []
            if let signal, signal.isActive {
                signal.writeAndFlush(ByteBuffer(integer: UInt8(1)), promise: nil)
            } else {
                // No pipe (the process is out of descriptors): a timer, which usually fires after a poll.
                loop.scheduleTask(in: WritePacer.pause) { self.open() }
            }
        }
        let promise = loop.makePromise(of: Void.self)
        waiting?.append(promise)
        return promise.futureResult
    }

    fileprivate func open() {
        let writers = waiting ?? []
        waiting = nil
        for writer in writers { writer.succeed() }
    }

    /// Registers the gate's pipe on its loop (both ends: what the channel writes, it reads back).
    private func openSignal() {
        var fds: [CInt] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        let (input, output) = (fds[0], fds[1])
        let gate = NIOLoopBound(self, eventLoop: loop)
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Opener(gate: gate)) }
            }
            .takingOwnershipOfDescriptors(input: input, output: output)
            .whenComplete { result in
                switch result {
                case .success(let channel): gate.value.signal = channel
                case .failure: close(input); close(output)
                }
            }
    }

    /// Opens the gate when the pipe's byte is read.
    private final class Opener: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let gate: NIOLoopBound<LoopWriteGate>
        init(gate: NIOLoopBound<LoopWriteGate>) { self.gate = gate }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { gate.value.open() }
    }
}
