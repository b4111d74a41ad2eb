import Foundation
import NIOCore
import NIOFoundationCompat

/// An incremental parser of what a NATS server sends: `INFO`, `MSG`, `HMSG`, `PING`, `PONG`, `+OK`, `-ERR`.
///
/// A pure value: ``append(_:)`` bytes as they arrive (split anywhere), then call ``next()`` until it
/// returns nil. Control lines are bounded by ``maxControlLineSize`` and payloads by
/// ``maxPayloadSize``; anything malformed throws ``NATSError/Code/protocolViolation``, after which
/// the parser stays failed.
package struct NATSProtocolParser: Sendable {
    /// One parsed server operation.
    package enum Operation: Sendable {
        /// `INFO {json}`.
        case info(NATSServerInfo)
        /// `MSG` or `HMSG` for subscription `sid`.
        case message(sid: UInt64, NATSMessage)
        /// `PING` (answer with `PONG`).
        case ping
        /// `PONG`.
        case pong
        /// `+OK` (verbose mode only).
        case ok
        /// `-ERR 'text'`, with the quotes removed.
        case error(String)
    }

    /// The longest control line accepted (excluding CRLF).
    package var maxControlLineSize: Int {
        get { scanner.maxControlLineSize }
        set { scanner.maxControlLineSize = newValue }
    }
    /// The largest `MSG`/`HMSG` size accepted (headers included).
    package var maxPayloadSize: Int {
        get { scanner.maxPayloadSize }
        set { scanner.maxPayloadSize = newValue }
    }

    /// What was received and not parsed yet: usually the last read, parsed in place (payloads are slices of it).
    private var buffer: ByteBuffer
    /// Whether ``buffer`` was assembled here (never sliced yet), so more bytes can be appended to it in place.
    private var bufferOwned = false
    /// One unit completed across reads — a control line, or the payload of the pending message — parsed before ``buffer``.
    /// Only the frame that straddles two reads is copied; the rest of a read is parsed where it is.
    private var stitched: ByteBuffer?
    /// Whether ``next()`` returned nil since the last ``append(_:)``: what is buffered is one incomplete unit.
    private var drained = true
    private var scanner: Scanner
    private var failure: NATSError?

    /// How many bytes the last message took on the wire (control line, payload and CRLFs).
    private(set) var lastMessageWireSize = 0

    fileprivate struct PendingMessage: Sendable {
        var subject: String
        var sid: UInt64
        var replyTo: String?
        /// -1 for `MSG` (no headers).
        var headerSize: Int
        var totalSize: Int
        /// The control line's length with its CRLF.
        var lineBytes: Int
    }

    /// A parser with the given bounds (the payload bound is usually raised or lowered from `INFO`).
    package init(maxControlLineSize: Int = 4096, maxPayloadSize: Int = 64 * 1024 * 1024) {
        self.scanner = Scanner(maxControlLineSize: maxControlLineSize, maxPayloadSize: maxPayloadSize)
        self.buffer = ByteBuffer()
    }

    /// Bytes received but not yet parsed.
    package var bufferedBytes: Int { buffer.readableBytes + (stitched?.readableBytes ?? 0) }

    /// Adds received bytes.
    package mutating func append(_ bytes: ByteBuffer) {
        guard failure == nil, bytes.readableBytes > 0 else { return }
        var bytes = bytes
        let wasDrained = drained
        drained = false
        let leftover = buffer.readableBytes
        if leftover == 0 {
            buffer = bytes
            bufferOwned = false
            return
        }
        if stitched == nil, wasDrained {
            // Complete the straddling unit from the head of the new bytes, if they hold the rest of it.
            var need: Int?
            if let pending = scanner.pending {
                need = pending.totalSize + 2 - leftover
            } else {
                let window = min(bytes.readableBytes, scanner.maxControlLineSize + 2 - leftover)
                if window > 0, let lf = Self.findLF(in: bytes, within: window) { need = lf + 1 }
            }
            if let need, need > 0, need <= bytes.readableBytes {
                var head = bytes.readSlice(length: need)!
                if bufferOwned, buffer.writableBytes >= need {
                    buffer.writeBuffer(&head)
                    stitched = buffer
                } else {
                    var unit = ByteBufferAllocator().buffer(capacity: leftover + need)
                    unit.writeBuffer(&buffer)
                    unit.writeBuffer(&head)
                    stitched = unit
                }
                buffer = bytes
                bufferOwned = false
                return
            }
        }
        if bufferOwned, buffer.writableBytes >= bytes.readableBytes {
            buffer.writeBuffer(&bytes)
            return
        }
        // Not enough yet: gather (room for the whole pending message, so later reads append in place).
        let wanted = scanner.pending.map { $0.totalSize + 2 } ?? 0
        var combined = ByteBufferAllocator().buffer(capacity: max(leftover + bytes.readableBytes, wanted))
        combined.writeBuffer(&buffer)
        combined.writeBuffer(&bytes)
        buffer = combined
        bufferOwned = true
    }

    /// The next complete operation, nil when more bytes are needed.
    package mutating func next() throws(NATSError) -> Operation? {
        if let failure { throw failure }
        do {
            if var unit = stitched {
                stitched = nil
                let operation = try scanner.parse(&unit)
                if unit.readableBytes > 0 { stitched = unit }
                if let operation {
                    if case .message = operation { lastMessageWireSize = scanner.lastWireSize }
                    return operation
                }
                if var rest = stitched {
                    // (Not expected: a stitched unit is whole.) Parse the rest together with what follows.
                    stitched = nil
                    var combined = ByteBufferAllocator().buffer(capacity: rest.readableBytes + buffer.readableBytes)
                    combined.writeBuffer(&rest)
                    combined.writeBuffer(&buffer)
                    buffer = combined
                    bufferOwned = true
                }
            }
            let operation = try scanner.parse(&buffer)
            if case .message = operation {
                lastMessageWireSize = scanner.lastWireSize
                bufferOwned = false
            } else if operation == nil {
                drained = true
            }
            return operation
        } catch {
            failure = error
            buffer = ByteBuffer()
            stitched = nil
            scanner.pending = nil
            throw error
        }
    }

    private static func findLF(in buffer: ByteBuffer, within count: Int) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            guard count > 0, let base = raw.baseAddress, let hit = memchr(base, 0x0A, count) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// The parsing proper, over whichever buffer is current.
    private struct Scanner: Sendable {
        var maxControlLineSize: Int
        var maxPayloadSize: Int
        var pending: PendingMessage?
        var lastWireSize = 0
        /// The last long subject made into a String, reused while the same subject repeats.
        var lastSubject = ""

        init(maxControlLineSize: Int, maxPayloadSize: Int) {
            self.maxControlLineSize = maxControlLineSize
            self.maxPayloadSize = maxPayloadSize
        }

        mutating func parse(_ buffer: inout ByteBuffer) throws(NATSError) -> Operation? {
            if pending == nil {
                let limit = maxControlLineSize + 2
                let searchable = min(buffer.readableBytes, limit)
                guard let lf = NATSProtocolParser.findLF(in: buffer, within: searchable) else {
                    if buffer.readableBytes >= limit {
                        throw violation("control line longer than \(maxControlLineSize) bytes")
                    }
                    return nil
                }
                guard lf > 0, buffer.getInteger(at: buffer.readerIndex + lf - 1, as: UInt8.self) == UInt8(ascii: "\r") else {
                    throw violation("control line not terminated by CRLF")
                }
                let line = buffer.withUnsafeReadableBytes { raw in
                    parseLine(UnsafeRawBufferPointer(rebasing: raw[0..<(lf - 1)]))
                }
                buffer.moveReaderIndex(forwardBy: lf + 1)
                switch line {
                case .failed(let reason): throw violation(reason)
                case .ping: return .ping
                case .pong: return .pong
                case .ok: return .ok
                case .error(let text): return .error(text)
                case .info(let json):
                    do {
                        return .info(try JSONDecoder().decode(NATSServerInfo.self, from: json))
                    } catch {
                        throw violation("INFO is not valid JSON: \(error)")
                    }
                case .message(var message):
                    message.lineBytes = lf + 1
                    pending = message
                }
            }
            guard let message = pending else { return nil }
            guard buffer.readableBytes >= message.totalSize + 2 else { return nil }
            guard buffer.getInteger(at: buffer.readerIndex + message.totalSize, as: UInt16.self) == 0x0D0A else {
                throw violation("payload of \(message.totalSize) bytes not followed by CRLF")
            }
            var headers: NATSHeaders?
            if message.headerSize >= 0 {
                let block = buffer.readSlice(length: message.headerSize)!
                headers = try NATSHeaders.parse(block)
            }
            let payload = buffer.readSlice(length: message.totalSize - max(message.headerSize, 0))!
            buffer.moveReaderIndex(forwardBy: 2)
            pending = nil
            lastWireSize = message.lineBytes + message.totalSize + 2
            return .message(sid: message.sid, NATSMessage(subject: message.subject, replyTo: message.replyTo, headers: headers, payload: payload))
        }

        private func violation(_ reason: String) -> NATSError {
            NATSError(.protocolViolation, reason)
        }

        private mutating func parseLine(_ line: UnsafeRawBufferPointer) -> ParsedLine {
            if let message = fastMessageLine(line) { return .message(message) }
            return NATSProtocolParser.parseLine(line, maxPayloadSize: maxPayloadSize)
        }

        /// `MSG <subject> <sid> [reply] <size>` with single spaces (what servers send), or nil for the general parser
        /// (which also reports what is wrong).
        private mutating func fastMessageLine(_ line: UnsafeRawBufferPointer) -> PendingMessage? {
            let n = line.count
            guard n > 4, line[0] == UInt8(ascii: "M"), line[1] == UInt8(ascii: "S"), line[2] == UInt8(ascii: "G"), line[3] == UInt8(ascii: " ") else {
                return nil
            }
            // Up to four space-separated fields; a tab, a double space or a fifth field goes the general way.
            var fields: (Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (0..<0, 0..<0, 0..<0, 0..<0)
            var count = 0
            var start = 4
            var i = 4
            while true {
                if i == n || line[i] == UInt8(ascii: " ") {
                    guard i > start, count < 4 else { return nil }
                    let field = start..<i
                    switch count {
                    case 0: fields.0 = field
                    case 1: fields.1 = field
                    case 2: fields.2 = field
                    default: fields.3 = field
                    }
                    count += 1
                    if i == n { break }
                    start = i + 1
                } else if line[i] == UInt8(ascii: "\t") {
                    return nil
                }
                i += 1
            }
            guard count >= 3 else { return nil }
            let sizeField = count == 3 ? fields.2 : fields.3
            guard let sid = NATSProtocolParser.sid(UnsafeRawBufferPointer(rebasing: line[fields.1])),
                  let total = NATSProtocolParser.size(UnsafeRawBufferPointer(rebasing: line[sizeField])),
                  total <= maxPayloadSize else { return nil }
            let subject = subjectString(UnsafeRawBufferPointer(rebasing: line[fields.0]))
            let replyTo = count == 4 ? String(decoding: UnsafeRawBufferPointer(rebasing: line[fields.2]), as: UTF8.self) : nil
            return PendingMessage(subject: subject, sid: sid, replyTo: replyTo, headerSize: -1, totalSize: total, lineBytes: 0)
        }

        /// The subject as a String, the previous one again when the bytes are the same (no allocation for a repeated long subject).
        private mutating func subjectString(_ bytes: UnsafeRawBufferPointer) -> String {
            // Up to 15 bytes a String is stored inline: nothing to save.
            guard bytes.count > 15 else { return String(decoding: bytes, as: UTF8.self) }
            let same = lastSubject.utf8.withContiguousStorageIfAvailable { cached in
                cached.count == bytes.count && memcmp(cached.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            if same == true { return lastSubject }
            lastSubject = String(decoding: bytes, as: UTF8.self)
            return lastSubject
        }
    }

    // MARK: Control lines

    fileprivate enum ParsedLine {
        case info(ByteBuffer)
        case message(PendingMessage)
        case ping, pong, ok
        case error(String)
        case failed(String)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// Whether `token` equals the upper-case ASCII `op`, ignoring case.
    private static func matches(_ token: UnsafeRawBufferPointer, _ op: StaticString) -> Bool {
        guard token.count == op.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: op.utf8Start, count: op.utf8CodeUnitCount)
        for i in 0..<token.count {
            var b = token[i]
            if b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") { b -= 0x20 }
            if b != expected[i] { return false }
        }
        return true
    }

    /// Splits at runs of spaces and tabs.
    private static func tokens(_ line: UnsafeRawBufferPointer, from start: Int) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = start
        while i < line.count {
            while i < line.count, isSpace(line[i]) { i += 1 }
            guard i < line.count else { break }
            let begin = i
            while i < line.count, !isSpace(line[i]) { i += 1 }
            result.append(begin..<i)
        }
        return result
    }

    /// A non-negative decimal of at most 18 digits (no overflow), or nil.
    fileprivate static func size(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }

    fileprivate static func sid(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var value: UInt64 = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    private static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    fileprivate static func parseLine(_ line: UnsafeRawBufferPointer, maxPayloadSize: Int) -> ParsedLine {
        var opEnd = 0
        while opEnd < line.count, !isSpace(line[opEnd]) { opEnd += 1 }
        let op = UnsafeRawBufferPointer(rebasing: line[0..<opEnd])
        var restStart = opEnd
        while restStart < line.count, isSpace(line[restStart]) { restStart += 1 }
        var restEnd = line.count
        while restEnd > restStart, isSpace(line[restEnd - 1]) { restEnd -= 1 }
        let rest = UnsafeRawBufferPointer(rebasing: line[restStart..<restEnd])

        if matches(op, "MSG") || matches(op, "HMSG") {
            let withHeaders = op.count == 4
            let args = tokens(line, from: restStart)
            let sizes = withHeaders ? 2 : 1
            guard args.count == 2 + sizes || args.count == 3 + sizes else {
                return .failed("\(withHeaders ? "HMSG" : "MSG") with \(args.count) arguments")
            }
            let arg = { (i: Int) in UnsafeRawBufferPointer(rebasing: line[args[i]]) }
            guard let sid = sid(arg(1)) else { return .failed("bad subscription id") }
            guard let total = size(arg(args.count - 1)) else { return .failed("bad message size") }
            var headerSize = -1
            if withHeaders {
                guard let h = size(arg(args.count - 2)) else { return .failed("bad header size") }
                guard h <= total else { return .failed("header size \(h) larger than total size \(total)") }
                headerSize = h
            }
            guard total <= maxPayloadSize else { return .failed("message of \(total) bytes exceeds \(maxPayloadSize)") }
            let replyTo = args.count == 3 + sizes ? string(arg(2)) : nil
            return .message(PendingMessage(subject: string(arg(0)), sid: sid, replyTo: replyTo, headerSize: headerSize, totalSize: total, lineBytes: 0))
        }
        if matches(op, "PING") { return rest.isEmpty ? .ping : .failed("PING with arguments") }
        if matches(op, "PONG") { return rest.isEmpty ? .pong : .failed("PONG with arguments") }
        if matches(op, "+OK") { return rest.isEmpty ? .ok : .failed("+OK with arguments") }
        if matches(op, "-ERR") {
            var text = rest
            if text.count >= 2, text.first == UInt8(ascii: "'"), text.last == UInt8(ascii: "'") {
                text = UnsafeRawBufferPointer(rebasing: text[1..<(text.count - 1)])
            }
            return .error(string(text))
        }
        if matches(op, "INFO") {
            guard !rest.isEmpty else { return .failed("INFO without JSON") }
            return .info(ByteBuffer(bytes: rest))
        }
        return .failed("unknown operation \(string(UnsafeRawBufferPointer(rebasing: op.prefix(16))).debugDescription)")
    }
}
