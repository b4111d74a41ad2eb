import MicroCore
import NIOCore
import NIOHTTP1

/// Reads the answers of a go-micro stream over HTTP/1.1: any number of whole HTTP/1.1 responses,
/// each with a `Content-Length`, unsolicited (NIO's response decoder pairs every response with a
/// request and refuses more). Bounded: a head of at most `maxHeadBytes` and `maxFields` fields, a
/// body of at most `maxBodySize`; anything else is a `TransportError(.protocolViolation)` or
/// `.messageTooLarge`.
struct MucpResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    let maxBodySize: Int
    let maxHeadBytes: Int
    let maxFields: Int
    /// Body bytes still to come for the message being read; nil between messages.
    private var remainingBody: Int?
    /// How far the current head was already searched for its blank line.
    private var searched = 0

    init(maxBodySize: Int, maxHeadBytes: Int = 64 * 1024, maxFields: Int = 256) {
        self.maxBodySize = maxBodySize
        self.maxHeadBytes = maxHeadBytes
        self.maxFields = maxFields
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let remaining = remainingBody {
            guard buffer.readableBytes > 0 else { return .needMoreData }
            let n = min(remaining, buffer.readableBytes)
            context.fireChannelRead(wrapInboundOut(.body(buffer.readSlice(length: n)!)))
            endBody(remaining - n, context: context)
            return .continue
        }
        guard let headLength = findHeadEnd(buffer) else {
            guard buffer.readableBytes <= maxHeadBytes else {
                throw Self.violation("a response head longer than \(maxHeadBytes) bytes")
            }
            return .needMoreData
        }
        searched = 0
        let headBytes = buffer.readSlice(length: headLength)!
        buffer.moveReaderIndex(forwardBy: 4)
        let (head, length) = try parseHead(headBytes)
        guard length <= maxBodySize else {
            throw TransportError(.messageTooLarge, address: "", detail: "stream message of \(length) bytes exceeds the limit of \(maxBodySize) bytes")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        endBody(length, context: context)
        return .continue
    }

    /// Notes what is left of the body, and ends the message as soon as nothing is (even when no
    /// further bytes come to call `decode` again).
    private mutating func endBody(_ remaining: Int, context: ChannelHandlerContext) {
        if remaining == 0 {
            remainingBody = nil
            context.fireChannelRead(wrapInboundOut(.end(nil)))
        } else {
            remainingBody = remaining
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if remainingBody != nil || buffer.readableBytes > 0 {
            throw TransportError(.connectionClosed, address: "", detail: "connection closed inside a stream message")
        }
        return .needMoreData
    }

    /// The length of the head (up to its blank line), nil while incomplete.
    private mutating func findHeadEnd(_ buffer: ByteBuffer) -> Int? {
        let view = buffer.readableBytesView
        let limit = min(view.count, maxHeadBytes + 4)
        var i = max(0, searched - 3)
        let base = view.startIndex
        while i + 3 < limit {
            if view[base + i] == 13, view[base + i + 1] == 10, view[base + i + 2] == 13, view[base + i + 3] == 10 { return i }
            i += 1
        }
        searched = i
        return nil
    }

    private func parseHead(_ bytes: ByteBuffer) throws -> (HTTPResponseHead, Int) {
        var lines = bytes.readableBytesView.split(separator: 13, omittingEmptySubsequences: false).makeIterator()
        guard let statusLine = lines.next() else { throw Self.violation("an empty response head") }
        // "HTTP/1.1 200 OK": the version, three digits, a reason.
        let status = Array(statusLine)
        guard status.count >= 12, status.starts(with: Array("HTTP/1.".utf8)), status[7] == UInt8(ascii: "0") || status[7] == UInt8(ascii: "1"),
              status[8] == UInt8(ascii: " "), status[9...11].allSatisfy({ (48...57).contains($0) }),
              status.count == 12 || status[12] == UInt8(ascii: " ") else {
            throw Self.violation("a malformed status line")
        }
        let code = status[9...11].reduce(0) { $0 * 10 + Int($1 - 48) }
        guard code >= 100 else { throw Self.violation("status \(code)") }
        var headers = HTTPHeaders()
        var length: Int?
        var fields = 0
        while let rawLine = lines.next() {
            // Every line after the first starts with the LF of the CRLF before it.
            guard rawLine.first == 10 else { throw Self.violation("a bare CR in the response head") }
            let line = rawLine.dropFirst()
            fields += 1
            guard fields <= maxFields else { throw Self.violation("more than \(maxFields) header fields") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw Self.violation("a header line without a name")
            }
            let name = line[line.startIndex..<colon]
            guard name.allSatisfy(Self.isTokenByte) else { throw Self.violation("a malformed header name") }
            var value = line[line.index(after: colon)...]
            while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
            while let l = value.last, l == 32 || l == 9 { value = value.dropLast() }
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { throw Self.violation("a control character in a header value") }
            let nameText = String(decoding: name, as: UTF8.self)
            let valueText = String(decoding: value, as: UTF8.self)
            switch nameText.lowercased() {
            case "content-length":
                guard !valueText.isEmpty, valueText.utf8.count <= 18, valueText.utf8.allSatisfy({ (48...57).contains($0) }),
                      let n = Int(valueText) else {
                    throw Self.violation("Content-Length \(valueText.prefix(40))")
                }
                guard length == nil || length == n else { throw Self.violation("two different Content-Lengths") }
                length = n
            case "transfer-encoding":
                throw Self.violation("Transfer-Encoding in a stream message (go-micro sends Content-Length)")
            default:
                break
            }
            headers.add(name: nameText, value: valueText)
        }
        guard let length else { throw Self.violation("a stream message without Content-Length") }
        let version = HTTPVersion(major: 1, minor: status[7] == UInt8(ascii: "1") ? 1 : 0)
        return (HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code), headers: headers), length)
    }

    private static let tokenPunctuation = Set("!#$%&'*+-.^_`|~".utf8)

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return tokenPunctuation.contains(b)
        }
    }

    private static func violation(_ what: String) -> TransportError {
        TransportError(.protocolViolation, address: "", detail: "stream answer has \(what)")
    }
}
