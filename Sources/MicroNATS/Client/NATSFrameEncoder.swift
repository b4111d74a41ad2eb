import NIOCore

/// Writes the client's protocol frames (`PUB`, `HPUB`, `SUB`, `UNSUB`, `PING`, `PONG`, `CONNECT`) into a buffer.
enum NATSFrameEncoder {
    /// `PUB subject [reply] size\r\npayload\r\n`, or `HPUB subject [reply] hsize tsize\r\nheaders payload\r\n`.
    static func writePublish(_ subject: String, replyTo: String?, headers: NATSHeaders?, headerSize: Int, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        if let headers {
            buffer.writeStaticString("HPUB ")
            buffer.writeString(subject)
            if let replyTo {
                buffer.writeStaticString(" ")
                buffer.writeString(replyTo)
            }
            buffer.writeStaticString(" ")
            writeDecimal(headerSize, into: &buffer)
            buffer.writeStaticString(" ")
            writeDecimal(headerSize + payload.readableBytes, into: &buffer)
            buffer.writeStaticString("\r\n")
            headers.write(to: &buffer)
        } else {
            buffer.writeStaticString("PUB ")
            buffer.writeString(subject)
            if let replyTo {
                buffer.writeStaticString(" ")
                buffer.writeString(replyTo)
            }
            buffer.writeStaticString(" ")
            writeDecimal(payload.readableBytes, into: &buffer)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeImmutableBuffer(payload)
        buffer.writeStaticString("\r\n")
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
        var n = UInt64(value)
        if n < 10 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(n))
            return
        }
        var digits = 0
        var probe = n
        while probe > 0 { digits += 1; probe /= 10 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { raw in
            var i = digits - 1
            while i >= 0 {
                raw[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                i -= 1
            }
            return digits
        }
    }
}
