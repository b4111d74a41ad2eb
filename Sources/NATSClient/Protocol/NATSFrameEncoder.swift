import NIOCore

/// Writes the client's protocol frames (`PUB`, `HPUB`, `SUB`, `UNSUB`, `PING`, `PONG`, `CONNECT`) into a buffer.
enum NATSFrameEncoder {
    /// The reply subject of a publish: none, a subject, or a request's inbox prefix followed by its token in decimal.
    enum Reply {
        case none
        case subject(String)
        case inbox(prefix: String, token: UInt64)

        var byteCount: Int {
            switch self {
            case .none: 0
            case .subject(let s): s.utf8.count
            case .inbox(let prefix, let token): prefix.utf8.count + decimalDigits(token)
            }
        }
    }

    /// `PUB subject [reply] size\r\npayload\r\n`, or `HPUB subject [reply] hsize tsize\r\nheaders payload\r\n`.
    static func writePublish(_ subject: String, replyTo: String?, headers: NATSHeaders?, headerSize: Int, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        writePublish(subject, reply: replyTo.map { .subject($0) } ?? .none, headers: headers, headerSize: headerSize, payload: payload, into: &buffer)
    }

    /// The length of the frame ``writePublish(_:reply:headers:headerSize:payload:into:)`` writes (`headerSize` < 0: no headers).
    @inline(__always)
    static func publishFrameLength(subjectBytes: Int, reply: Reply, headerSize: Int, payloadBytes: Int) -> Int {
        var length = subjectBytes + payloadBytes + 2 + 2
        if case .none = reply {} else { length += reply.byteCount + 1 }
        if headerSize >= 0 {
            let total = headerSize + payloadBytes
            length += 5 + 1 + decimalDigits(headerSize) + 1 + decimalDigits(total) + headerSize
        } else {
            length += 4 + 1 + decimalDigits(payloadBytes)
        }
        return length
    }

    /// Writes a whole `PUB` (one bounds check, one pass over the bytes) or an `HPUB`.
    static func writePublish(_ subject: String, reply: Reply, headers: NATSHeaders?, headerSize: Int, payload: ByteBuffer,
                             into buffer: inout NATSOutboundBuffer) {
        if headers != nil {
            buffer.withBuffer { writePublish(subject, reply: reply, headers: headers, headerSize: headerSize, payload: payload, into: &$0) }
            return
        }
        let payloadBytes = payload.readableBytes
        let length = publishFrameLength(subjectBytes: subject.utf8.count, reply: reply, headerSize: -1, payloadBytes: payloadBytes)
        buffer.write(length: length) { base in
            _ = storePublish(subject, reply: reply, payload: payload, payloadBytes: payloadBytes, to: base)
        }
    }

    /// Writes a whole `PUB` or `HPUB` into a `ByteBuffer`.
    static func writePublish(_ subject: String, reply: Reply, headers: NATSHeaders?, headerSize: Int, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        if let headers {
            buffer.writeStaticString("HPUB ")
            buffer.writeString(subject)
            writeReply(reply, into: &buffer)
            buffer.writeStaticString(" ")
            writeDecimal(headerSize, into: &buffer)
            buffer.writeStaticString(" ")
            writeDecimal(headerSize + payload.readableBytes, into: &buffer)
            buffer.writeStaticString("\r\n")
            headers.write(to: &buffer)
            buffer.writeImmutableBuffer(payload)
            buffer.writeStaticString("\r\n")
            return
        }
        let payloadBytes = payload.readableBytes
        let length = publishFrameLength(subjectBytes: subject.utf8.count, reply: reply, headerSize: -1, payloadBytes: payloadBytes)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            storePublish(subject, reply: reply, payload: payload, payloadBytes: payloadBytes, to: out.baseAddress!)
        }
    }

    /// Appends `PUB subject size\r\n`.
    static func appendPublishLine(_ subject: String, payloadBytes: Int, to line: inout [UInt8]) {
        line.append(contentsOf: "PUB ".utf8)
        line.append(contentsOf: subject.utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: String(payloadBytes).utf8)
        line.append(contentsOf: "\r\n".utf8)
    }

    /// Stores the payload and its CRLF at `base`.
    @inline(__always)
    static func storePayload(_ payload: ByteBuffer, payloadBytes: Int, to base: UnsafeMutableRawPointer) {
        if payloadBytes > 0 {
            payload.withUnsafeReadableBytes { src in
                copyBytes(to: base, from: src.baseAddress!, count: payloadBytes)
            }
        }
        storeCRLF(base + payloadBytes)
    }

    /// Stores `PUB subject [reply] size\r\npayload\r\n` at `base` (``publishFrameLength(subjectBytes:reply:headerSize:payloadBytes:)`` bytes); returns the length.
    @inline(__always)
    static func storePublish(_ subject: String, reply: Reply, payload: ByteBuffer, payloadBytes: Int, to base: UnsafeMutableRawPointer) -> Int {
        base.storeBytes(of: UInt8(ascii: "P"), toByteOffset: 0, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: "U"), toByteOffset: 1, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: "B"), toByteOffset: 2, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: " "), toByteOffset: 3, as: UInt8.self)
        var at = 4
        at += copyUTF8(subject, to: base + at)
        switch reply {
        case .none:
            break
        case .subject(let replyTo):
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
            at += 1
            at += copyUTF8(replyTo, to: base + at)
        case .inbox(let prefix, let token):
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
            at += 1
            at += copyUTF8(prefix, to: base + at)
            at += storeDecimal(token, to: base + at)
        }
        base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
        at += 1
        at += storeDecimal(UInt64(payloadBytes), to: base + at)
        storeCRLF(base + at)
        at += 2
        storePayload(payload, payloadBytes: payloadBytes, to: base + at)
        return at + payloadBytes + 2
    }

    private static func writeReply(_ reply: Reply, into buffer: inout ByteBuffer) {
        switch reply {
        case .none:
            break
        case .subject(let replyTo):
            buffer.writeStaticString(" ")
            buffer.writeString(replyTo)
        case .inbox(let prefix, let token):
            buffer.writeStaticString(" ")
            buffer.writeString(prefix)
            writeDecimal(token, into: &buffer)
        }
    }

    @inline(__always)
    static func storeCRLF(_ destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: UInt8(ascii: "\r"), as: UInt8.self)
        destination.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: 1, as: UInt8.self)
    }

    /// Copies `count` bytes; short copies (subjects, small payloads) inline, without a call to `memmove`.
    @inline(__always)
    static func copyBytes(to destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int) {
        guard count <= 32 else {
            destination.copyMemory(from: source, byteCount: count)
            return
        }
        var i = 0
        while i + 8 <= count {
            destination.storeBytes(of: source.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            destination.storeBytes(of: source.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    /// Copies the UTF-8 bytes of `string` to `destination`; returns how many.
    @inline(__always)
    static func copyUTF8(_ string: String, to destination: UnsafeMutableRawPointer) -> Int {
        if let count = string.utf8.withContiguousStorageIfAvailable({ bytes -> Int in
            if let source = bytes.baseAddress { copyBytes(to: destination, from: UnsafeRawPointer(source), count: bytes.count) }
            return bytes.count
        }) {
            return count
        }
        var at = 0
        for byte in string.utf8 {
            destination.storeBytes(of: byte, toByteOffset: at, as: UInt8.self)
            at += 1
        }
        return at
    }

    /// How many decimal digits `value` has.
    @inline(__always)
    static func decimalDigits<T: BinaryInteger>(_ value: T) -> Int {
        var n = UInt64(value)
        var digits = 1
        while n >= 10 {
            n /= 10
            digits += 1
        }
        return digits
    }

    /// Stores `value` in decimal at `destination`; returns how many digits.
    @inline(__always)
    static func storeDecimal(_ value: UInt64, to destination: UnsafeMutableRawPointer) -> Int {
        let digits = decimalDigits(value)
        var n = value
        var i = digits - 1
        while i >= 0 {
            destination.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n % 10), toByteOffset: i, as: UInt8.self)
            n /= 10
            i -= 1
        }
        return digits
    }

    /// `SUB subject [queue] sid\r\n`.
    static func writeSubscribe(_ subject: String, queue: String?, sid: UInt64, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("SUB ")
        buffer.writeString(subject)
        if let queue {
            buffer.writeStaticString(" ")
            buffer.writeString(queue)
        }
        buffer.writeStaticString(" ")
        writeDecimal(sid, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// `UNSUB sid [max]\r\n`.
    static func writeUnsubscribe(sid: UInt64, max: Int?, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("UNSUB ")
        writeDecimal(sid, into: &buffer)
        if let max {
            buffer.writeStaticString(" ")
            writeDecimal(max, into: &buffer)
        }
        buffer.writeStaticString("\r\n")
    }

    /// `PING\r\n`.
    static func writePing(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("PING\r\n")
    }

    /// `PONG\r\n`.
    static func writePong(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("PONG\r\n")
    }

    /// A non-negative integer in decimal, without allocating.
    static func writeDecimal<T: BinaryInteger>(_ value: T, into buffer: inout ByteBuffer) {
        let n = UInt64(value)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { raw in
            storeDecimal(n, to: raw.baseAddress!)
        }
    }
}
