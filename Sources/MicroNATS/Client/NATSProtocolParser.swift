import Foundation
import NIOCore
import NIOFoundationCompat

/// An incremental parser of what a NATS server sends: `INFO`, `MSG`, `HMSG`, `PING`, `PONG`, `+OK`, `-ERR`.
///
/// A pure value: ``append(_:)`` bytes as they arrive (split anywhere), then call ``next()`` until it
/// returns nil. Control lines are bounded by ``maxControlLineSize`` and payloads by
/// ``maxPayloadSize``; anything malformed throws ``NATSError/Code/protocolViolation``, after which
/// the parser stays failed.
public struct NATSProtocolParser: Sendable {
    /// One parsed server operation.
    public enum Operation: Sendable {
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
    public var maxControlLineSize: Int
    /// The largest `MSG`/`HMSG` size accepted (headers included).
    public var maxPayloadSize: Int

    private var buffer: ByteBuffer
    private var pending: PendingMessage?
    private var failure: NATSError?

    private struct PendingMessage: Sendable {
        var subject: String
        var sid: UInt64
        var replyTo: String?
        /// -1 for `MSG` (no headers).
        var headerSize: Int
        var totalSize: Int
    }

    /// A parser with the given bounds (the payload bound is usually raised or lowered from `INFO`).
    public init(maxControlLineSize: Int = 4096, maxPayloadSize: Int = 64 * 1024 * 1024) {
        self.maxControlLineSize = maxControlLineSize
        self.maxPayloadSize = maxPayloadSize
        self.buffer = ByteBuffer()
    }

    /// Bytes received but not yet parsed.
    public var bufferedBytes: Int { buffer.readableBytes }

    /// Adds received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
            return
        }
        if buffer.readerIndex > 0 && buffer.readerIndex >= buffer.readableBytes {
            buffer.discardReadBytes()
        }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete operation, nil when more bytes are needed.
    public mutating func next() throws(NATSError) -> Operation? {
        if let failure { throw failure }
        do {
            return try parseNext()
        } catch {
            failure = error
            buffer = ByteBuffer()
            pending = nil
            throw error
        }
    }

    private mutating func parseNext() throws(NATSError) -> Operation? {
        if pending == nil {
            let line: ParsedLine
            let searchable = min(buffer.readableBytes, maxControlLineSize + 2)
            let found = buffer.withUnsafeReadableBytes { raw -> Int? in
                UnsafeRawBufferPointer(rebasing: raw[0..<searchable]).firstIndex(of: UInt8(ascii: "\n"))
            }
            guard let lf = found else {
                if buffer.readableBytes >= maxControlLineSize + 2 {
                    throw violation("control line longer than \(maxControlLineSize) bytes")
                }
                return nil
            }
            guard lf > 0, buffer.getInteger(at: buffer.readerIndex + lf - 1, as: UInt8.self) == UInt8(ascii: "\r") else {
                throw violation("control line not terminated by CRLF")
            }
            line = buffer.withUnsafeReadableBytes { raw in
                Self.parseLine(UnsafeRawBufferPointer(rebasing: raw[0..<(lf - 1)]), maxPayloadSize: maxPayloadSize)
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
            case .message(let message):
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
        if buffer.readableBytes == 0 { buffer.clear() }
        return .message(sid: message.sid, NATSMessage(subject: message.subject, replyTo: message.replyTo, headers: headers, payload: payload))
    }

    private func violation(_ reason: String) -> NATSError {
        NATSError(.protocolViolation, reason)
    }

    // MARK: Control lines

    private enum ParsedLine {
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
    private static func size(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }

    private static func sid(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
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

    private static func parseLine(_ line: UnsafeRawBufferPointer, maxPayloadSize: Int) -> ParsedLine {
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
            return .message(PendingMessage(subject: string(arg(0)), sid: sid, replyTo: replyTo, headerSize: headerSize, totalSize: total))
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
