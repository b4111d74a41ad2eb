import MicroCore
import NIOCore

/// A stream's incoming side: messages from the channel — whole ones (go-micro's form) or cut out of
/// framed bytes — handed to the handler's reader through a backpressured sequence. Touched on the
/// event loop only, except `reader`.
final class StreamInbound {
    private var decoder: StreamFrameDecoder
    private let source: NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>.Source
    let reader: MessageReader
    private(set) var hasRequestEnded = false
    /// At least one message was handed to the reader.
    private(set) var hasDelivered = false
    private var finished = false

    init(maxMessageSize: Int, onDemand: @escaping @Sendable () -> Void) {
        decoder = StreamFrameDecoder(maxMessageSize: maxMessageSize)
        let made = NIOThrowingAsyncSequenceProducer.makeSequence(
            elementType: ByteBuffer.self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 2, highWatermark: 16),
            finishOnDeinit: true,
            delegate: Demand(onDemand: onDemand))
        source = made.source
        let iterator = IteratorBox(made.sequence.makeAsyncIterator())
        reader = MessageReader { try await iterator.next() }
    }

    /// Takes one whole message; false when the reader is behind and the channel should pause.
    func deliver(_ message: ByteBuffer) -> Bool {
        guard !finished else { return true }
        hasDelivered = true
        if case .stopProducing = source.yield(message) { return false }
        return true
    }

    /// Takes framed body bytes; false when the reader is behind and the channel should pause.
    func receive(_ chunk: ByteBuffer) -> Bool {
        guard !finished else { return true }
        decoder.append(chunk)
        var more = true
        do {
            while let frame = try decoder.next() {
                switch frame.kind {
                case .message:
                    hasDelivered = true
                    if case .stopProducing = source.yield(frame.payload) { more = false }
                case .end, .error:
                    finish()
                    return true
                }
            }
        } catch {
            fail(error)
        }
        return more
    }

    func requestEnded() {
        hasRequestEnded = true
        if decoder.pendingBytes > 0 {
            fail(TransportError(.protocolViolation, address: "", detail: "stream ended inside a frame"))
        } else {
            finish()
        }
    }

    func finish() {
        guard !finished else { return }
        finished = true
        source.finish()
    }

    func fail(_ error: any Error) {
        guard !finished else { return }
        finished = true
        source.finish(error)
    }

    struct Demand: NIOAsyncSequenceProducerDelegate {
        let onDemand: @Sendable () -> Void
        func produceMore() { onDemand() }
        func didTerminate() {}
    }

    /// Safety: one reader at a time (the stream's handler).
    final class IteratorBox: @unchecked Sendable {
        var iterator: NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>.AsyncIterator
        init(_ iterator: NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>.AsyncIterator) {
            self.iterator = iterator
        }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }
}
