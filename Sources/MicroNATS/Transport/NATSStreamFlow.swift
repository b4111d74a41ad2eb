import MicroCore
import NIOConcurrencyHelpers
import NIOCore

/// One end of a stream: the messages received and not yet read (at most the window granted to the
/// peer, who may not send further until they are acknowledged), and the credit to send (the window
/// the peer granted, given back by its acknowledgements). Waits are cancellable; one reader and one
/// writer at a time.
final class NATSStreamFlow: Sendable {
    /// How many unacknowledged messages the peer may send us.
    let window: Int
    /// An acknowledgement is sent once this many messages were read since the last one.
    let ackEvery: Int
    let address: String
    private let state: NIOLockedValueBox<State>

    private struct State {
        // Receiving.
        var buffer = CircularBuffer<ByteBuffer>()
        var received = 0
        var consumed = 0
        var ackSent = 0
        var inboundEnded = false
        var terminalError: (any Error)?
        var reader: (id: Int, continuation: CheckedContinuation<ByteBuffer?, any Error>)?
        // Sending.
        var sent = 0
        var peerAcked = 0
        var peerWindow: Int
        var sendClosed = false
        var peerDone = false
        var writer: (id: Int, continuation: CheckedContinuation<Int?, any Error>)?
        // Both.
        var aborted: (any Error)?
        var peerInbox: String?
        var acceptWaiters: [(id: Int, continuation: CheckedContinuation<String, any Error>)] = []
        var lastHeard = NIODeadline.now()
        var nextID = 0
    }

    /// A flow granting the peer `window` messages; `peerWindow` and `peerInbox` are known up front on
    /// the server (from the opening message) and come with `accept` on the client.
    init(window: Int, peerWindow: Int = 0, peerInbox: String? = nil, address: String) {
        self.window = max(1, window)
        self.ackEvery = max(1, self.window / 2)
        self.address = address
        var s = State(peerWindow: peerWindow)
        s.peerInbox = peerInbox
        state = NIOLockedValueBox(s)
    }

    private func violation(_ detail: String) -> TransportError {
        TransportError(.protocolViolation, address: address, detail: detail)
    }

    // MARK: Peer events (from the dispatcher)

    /// Something arrived from the peer.
    func heard() { state.withLockedValue { $0.lastHeard = .now() } }

    /// When the peer was last heard from.
    var lastHeard: NIODeadline { state.withLockedValue { $0.lastHeard } }

    /// The peer's inbox, once known.
    var peerInbox: String? { state.withLockedValue { $0.peerInbox } }

    /// The server accepted the stream: its inbox and window.
    func accepted(inbox: String, window: Int) {
        let waiters: [CheckedContinuation<String, any Error>] = state.withLockedValue { s in
            guard s.peerInbox == nil else { return [] }
            s.peerInbox = inbox
            s.peerWindow = window
            defer { s.acceptWaiters = [] }
            return s.acceptWaiters.map(\.continuation)
        }
        for w in waiters { w.resume(returning: inbox) }
    }

    /// A data message; throws if it breaks the sequence or the window.
    func received(seq: Int, payload: ByteBuffer) throws {
        let handoff: CheckedContinuation<ByteBuffer?, any Error>? = try state.withLockedValue { s in
            guard s.aborted == nil || s.inboundEnded else { return nil }
            guard !s.inboundEnded else { throw violation("data after the end of the stream") }
            guard seq == s.received + 1 else { throw violation("stream message \(seq) after \(s.received): messages were lost") }
            guard seq <= s.ackSent + window else { throw violation("the peer sent past its window of \(window) messages") }
            s.received = seq
            if let reader = s.reader {
                s.reader = nil
                s.consumed += 1
                return reader.continuation
            }
            s.buffer.append(payload)
            return nil
        }
        handoff?.resume(returning: payload)
    }

    /// The peer finished sending after `count` messages; `peerDone` when it also takes no more (the server finished).
    func ended(count: Int, error: (any Error)? = nil, peerDone: Bool) throws {
        let (reader, writer) = try takeWaitersForEnd(count: count, error: error, peerDone: peerDone)
        if let reader {
            if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
        }
        if let writer {
            if let error { writer.resume(throwing: error) } else { writer.resume(returning: nil) }
        }
    }

    private func takeWaitersForEnd(count: Int, error: (any Error)?, peerDone: Bool) throws
        -> (CheckedContinuation<ByteBuffer?, any Error>?, CheckedContinuation<Int?, any Error>?) {
        try state.withLockedValue { s in
            guard !s.inboundEnded else { return (nil, nil) }
            guard count < 0 || count == s.received else {
                throw violation("stream ended after \(count) messages but \(s.received) arrived: messages were lost")
            }
            s.inboundEnded = true
            s.terminalError = error
            var reader: CheckedContinuation<ByteBuffer?, any Error>?
            if s.buffer.isEmpty, let r = s.reader { s.reader = nil; reader = r.continuation }
            var writer: CheckedContinuation<Int?, any Error>?
            if peerDone {
                s.peerDone = true
                if let w = s.writer { s.writer = nil; writer = w.continuation }
            }
            return (reader, writer)
        }
    }

    /// The peer read `count` messages in all: credit for more.
    func acknowledged(_ count: Int) throws {
        let writer: (CheckedContinuation<Int?, any Error>, Int)? = try state.withLockedValue { s in
            guard count <= s.sent else { throw violation("acknowledgement of \(count) messages when \(s.sent) were sent") }
            s.peerAcked = max(s.peerAcked, count)
            guard let w = s.writer, s.sent - s.peerAcked < s.peerWindow else { return nil }
            s.writer = nil
            s.sent += 1
            return (w.continuation, s.sent)
        }
        if let (w, seq) = writer { w.resume(returning: seq) }
    }

    /// Ends the stream at once with `error`: waiting reads, writes and accepts throw it. A stream the
    /// peer already finished (the server's `end` or `error` arrived) is not aborted: what it sent is still read.
    func abort(_ error: any Error) {
        let (reader, writer, accepts): (CheckedContinuation<ByteBuffer?, any Error>?, CheckedContinuation<Int?, any Error>?, [CheckedContinuation<String, any Error>]) = state.withLockedValue { s in
            guard s.aborted == nil, !s.peerDone else { return (nil, nil, []) }
            s.aborted = error
            if !s.inboundEnded { s.buffer.removeAll() }
            let r = s.reader?.continuation
            s.reader = nil
            let w = s.writer?.continuation
            s.writer = nil
            let a = s.acceptWaiters.map(\.continuation)
            s.acceptWaiters = []
            return (r, w, a)
        }
        reader?.resume(throwing: error)
        writer?.resume(throwing: error)
        for a in accepts { a.resume(throwing: error) }
    }

    /// Whether the stream was aborted.
    var isAborted: Bool { state.withLockedValue { $0.aborted != nil } }
    /// Whether the peer finished sending.
    var isInboundEnded: Bool { state.withLockedValue { $0.inboundEnded } }

    // MARK: Local side

    /// Waits for the server's `accept`; returns its inbox.
    func waitAccepted() async throws -> String {
        let id = state.withLockedValue { s -> Int in s.nextID += 1; return s.nextID }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, any Error>) in
                let now: Result<String, any Error>? = state.withLockedValue { s in
                    if let inbox = s.peerInbox { return .success(inbox) }
                    if let e = s.aborted { return .failure(e) }
                    if s.inboundEnded { return .failure(s.terminalError ?? violation("stream ended before it was accepted")) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.acceptWaiters.append((id, c))
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            let c = state.withLockedValue { s -> CheckedContinuation<String, any Error>? in
                guard let i = s.acceptWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.acceptWaiters.remove(at: i).continuation
            }
            c?.resume(throwing: CancellationError())
        }
    }

    /// The next message; nil once the peer finished; throws the peer's error or the abort's.
    func next() async throws -> ByteBuffer? {
        let id = state.withLockedValue { s -> Int in s.nextID += 1; return s.nextID }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<ByteBuffer?, any Error>) in
                let now: Result<ByteBuffer?, any Error>? = state.withLockedValue { s in
                    if let m = s.buffer.popFirst() { s.consumed += 1; return .success(m) }
                    if s.inboundEnded { return s.terminalError.map { .failure($0) } ?? .success(nil) }
                    if let e = s.aborted { return .failure(e) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.reader != nil { return .failure(violation("two readers on one stream")) }
                    s.reader = (id, c)
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            let c = state.withLockedValue { s -> CheckedContinuation<ByteBuffer?, any Error>? in
                guard let r = s.reader, r.id == id else { return nil }
                s.reader = nil
                return r.continuation
            }
            c?.resume(throwing: CancellationError())
        }
    }

    /// The count to acknowledge now, if enough messages were read since the last acknowledgement.
    func acknowledgementDue() -> Int? {
        state.withLockedValue { s in
            guard !s.inboundEnded, s.aborted == nil, s.consumed - s.ackSent >= ackEvery else { return nil }
            s.ackSent = s.consumed
            return s.consumed
        }
    }

    /// Waits for credit to send one message; returns its sequence number, or nil when the peer already
    /// finished and takes no more (the message is dropped). Throws the abort's error.
    func reserveSend() async throws -> Int? {
        let id = state.withLockedValue { s -> Int in s.nextID += 1; return s.nextID }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int?, any Error>) in
                let now: Result<Int?, any Error>? = state.withLockedValue { s in
                    if let e = s.aborted { return .failure(e) }
                    if s.sendClosed { return .failure(violation("send after the end of the stream")) }
                    if s.peerDone { return s.terminalError.map { .failure($0) } ?? .success(nil) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.sent - s.peerAcked < s.peerWindow { s.sent += 1; return .success(s.sent) }
                    if s.writer != nil { return .failure(violation("two writers on one stream")) }
                    s.writer = (id, c)
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            let c = state.withLockedValue { s -> CheckedContinuation<Int?, any Error>? in
                guard let w = s.writer, w.id == id else { return nil }
                s.writer = nil
                return w.continuation
            }
            c?.resume(throwing: CancellationError())
        }
    }

    /// Closes the sending side; returns how many messages were sent, or nil if it was closed already
    /// or the peer finished (nothing to tell it).
    func closeSend() -> Int? {
        state.withLockedValue { s in
            guard !s.sendClosed else { return nil }
            s.sendClosed = true
            return s.peerDone || s.aborted != nil ? nil : s.sent
        }
    }

    /// Messages sent and not yet acknowledged.
    var inFlight: Int { state.withLockedValue { $0.sent - $0.peerAcked } }
    /// Messages received and not yet read.
    var buffered: Int { state.withLockedValue { $0.buffer.count } }
}
