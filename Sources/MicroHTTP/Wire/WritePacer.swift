import NIOCore

/// When a stream's writer should let its event loop serve other channels: NIO runs queued tasks
/// until none are left, so writers whose sockets take every write at once would otherwise keep the
/// loop from its selector for as long as they write. A writer gets a turn of ``turn`` of continuous
/// writing, then pauses for ``pause`` (a timer fires only once the loop's queue is empty and it has
/// polled its sockets); a writer that was quiet for a turn's length starts a new turn.
struct WritePacer {
    /// How long writing may go on before a pause.
    static let turn = TimeAmount.microseconds(500)
    /// How long a pause waits: long enough for the loop to finish its queue and poll its sockets.
    static let pause = TimeAmount.microseconds(25)
    private var turnStarted: NIODeadline?
    private var lastWrite = NIODeadline.uptimeNanoseconds(0)

    /// Counts a write made at `now`; true when the writer should pause now.
    mutating func wrote(at now: NIODeadline = .now()) -> Bool {
        if turnStarted == nil || now - lastWrite >= Self.turn { turnStarted = now }
        lastWrite = now
        guard let started = turnStarted, now - started >= Self.turn else { return false }
        turnStarted = nil
        return true
    }
}
