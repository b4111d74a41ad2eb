import NIOCore

/// NATS message headers: ordered, multi-valued fields plus the optional status of a `NATS/1.0 503` line.
///
/// Names keep their case on the wire; look-ups compare them case-insensitively (ASCII).
public struct NATSHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One header field.
    public struct Field: Sendable, Hashable {
        /// The field name, as sent.
        public var name: String
        /// The field value.
        public var value: String
        /// Creates a field.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The fields, in order.
    public private(set) var fields: [Field] = []
    /// The status code of the status line (`503` for no responders), if any.
    public var status: Int?
    /// The text after the status code on the status line, if any.
    public var statusDescription: String?

    /// Empty headers.
    public init() {}

    /// Headers from name-value pairs, in order (repeated names make multiple values).
    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    /// Headers from a literal, in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Whether there are no fields (a status may still be set).
    public var isEmpty: Bool { fields.isEmpty }
    /// The number of fields.
    public var count: Int { fields.count }

    /// The first value of `name`; setting replaces every value of `name` (or removes them with `nil`).
    public subscript(name: String) -> String? {
        get { fields.first { Self.same($0.name, name) }?.value }
        set {
            if let newValue { set(name, newValue) } else { remove(name) }
        }
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { Self.same($0.name, name) }.map(\.value)
    }

    /// Appends a value for `name`, keeping earlier ones.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every value of `name` with `value` (at the place of the first one).
    public mutating func set(_ name: String, _ value: String) {
        if let first = fields.firstIndex(where: { Self.same($0.name, name) }) {
            fields[first].value = value
            var index = fields.index(after: first)
            while index < fields.endIndex {
                if Self.same(fields[index].name, name) { fields.remove(at: index) } else { index += 1 }
            }
        } else {
            fields.append(Field(name: name, value: value))
        }
    }

    /// Removes every value of `name`.
    public mutating func remove(_ name: String) {
        fields.removeAll { Self.same($0.name, name) }
    }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    static func same(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (l, r) in zip(x, y) where l != r {
            let ll = l | 0x20, rr = r | 0x20
            guard ll == rr, ll >= UInt8(ascii: "a"), ll <= UInt8(ascii: "z") else { return false }
        }
        return true
    }

    // MARK: Wire format

    /// Checks that every name and value can be sent.
    func validate() throws(NATSError) {
        for field in fields {
            guard !field.name.isEmpty else { throw NATSError(.badHeader, "empty header name") }
            for byte in field.name.utf8 where byte <= 0x20 || byte == UInt8(ascii: ":") || byte == 0x7F {
                throw NATSError(.badHeader, "header name \(field.name.debugDescription) has a space, control character or ':'")
            }
            for byte in field.value.utf8 where byte == 0x0D || byte == 0x0A {
                throw NATSError(.badHeader, "header value of \(field.name) has a line break")
            }
        }
        if let status, !(100...999).contains(status) {
            throw NATSError(.badHeader, "status \(status) is not a three-digit code")
        }
        if let statusDescription {
            for byte in statusDescription.utf8 where byte == 0x0D || byte == 0x0A {
                throw NATSError(.badHeader, "status description has a line break")
            }
        }
    }

    /// The length of the header block ``write(to:)`` writes (after ``validate()`` passed).
    var encodedLength: Int {
        var length = 12 // "NATS/1.0\r\n" ... "\r\n"
        if status != nil {
            length += 4
            if let statusDescription, !statusDescription.isEmpty { length += 1 + statusDescription.utf8.count }
        }
        for field in fields { length += field.name.utf8.count + field.value.utf8.count + 4 }
        return length
    }

    /// Writes the header block (`NATS/1.0 ...\r\n` fields `\r\n`); returns its length.
    @discardableResult
    func write(to buffer: inout ByteBuffer) -> Int {
        var written = buffer.writeStaticString("NATS/1.0")
        if let status {
            written += buffer.writeStaticString(" ")
            let start = buffer.writerIndex
            NATSFrameEncoder.writeDecimal(status, into: &buffer)
            written += buffer.writerIndex - start
            if let statusDescription, !statusDescription.isEmpty {
                written += buffer.writeStaticString(" ")
                written += buffer.writeString(statusDescription)
            }
        }
        written += buffer.writeStaticString("\r\n")
        for field in fields {
            written += buffer.writeString(field.name)
            written += buffer.writeStaticString(": ")
            written += buffer.writeString(field.value)
            written += buffer.writeStaticString("\r\n")
        }
        written += buffer.writeStaticString("\r\n")
        return written
    }

    /// Parses a header block as sent in `HMSG`: `NATS/1.0[ status[ description]]\r\n`, `name: value\r\n`..., `\r\n`.
    static func parse(_ bytes: ByteBuffer) throws(NATSError) -> NATSHeaders {
        let result: Result<NATSHeaders, NATSError> = bytes.withUnsafeReadableBytes { raw in
            parse(raw)
        }
        return try result.get()
    }

    private static func parse(_ raw: UnsafeRawBufferPointer) -> Result<NATSHeaders, NATSError> {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let count = raw.count
        // Split into lines that end in CRLF; the block must end with an empty line.
        var lines: [Range<Int>] = []
        var start = 0
        var index = 0
        var sawEnd = false
        while index < count {
            if raw[index] == lf {
                guard index > start, raw[index - 1] == cr else {
                    return .failure(NATSError(.protocolViolation, "header line without CRLF"))
                }
                let line = start..<(index - 1)
                if line.isEmpty && !lines.isEmpty {
                    guard index == count - 1 else {
                        return .failure(NATSError(.protocolViolation, "bytes after the end of the header block"))
                    }
                    sawEnd = true
                    break
                }
                lines.append(line)
                start = index + 1
            }
            index += 1
        }
        guard sawEnd, let first = lines.first else {
            return .failure(NATSError(.protocolViolation, "header block does not end with an empty line"))
        }
        let version = "NATS/1.0".utf8
        guard first.count >= version.count, zip(raw[first.lowerBound..<(first.lowerBound + version.count)], version).allSatisfy({ $0 == $1 }) else {
            return .failure(NATSError(.protocolViolation, "header block does not start with NATS/1.0"))
        }
        var headers = NATSHeaders()
        // Status line: NATS/1.0 503 No Responders
        var cursor = first.lowerBound + version.count
        func isSpace(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        while cursor < first.upperBound, isSpace(raw[cursor]) { cursor += 1 }
        if cursor < first.upperBound {
            guard cursor > first.lowerBound + version.count else {
                return .failure(NATSError(.protocolViolation, "bad header status line"))
            }
            var code = 0
            var digits = 0
            while cursor < first.upperBound, raw[cursor] >= UInt8(ascii: "0"), raw[cursor] <= UInt8(ascii: "9") {
                code = code * 10 + Int(raw[cursor] - UInt8(ascii: "0"))
                digits += 1
                cursor += 1
                if digits > 3 { break }
            }
            guard digits == 3, cursor == first.upperBound || isSpace(raw[cursor]) else {
                return .failure(NATSError(.protocolViolation, "bad header status code"))
            }
            headers.status = code
            while cursor < first.upperBound, isSpace(raw[cursor]) { cursor += 1 }
            if cursor < first.upperBound {
                headers.statusDescription = String(decoding: UnsafeRawBufferPointer(rebasing: raw[cursor..<first.upperBound]), as: UTF8.self)
            }
        }
        for line in lines.dropFirst() {
            guard let colon = raw[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound else {
                return .failure(NATSError(.protocolViolation, "header line without a name"))
            }
            var valueStart = colon + 1
            while valueStart < line.upperBound, isSpace(raw[valueStart]) { valueStart += 1 }
            var valueEnd = line.upperBound
            while valueEnd > valueStart, isSpace(raw[valueEnd - 1]) { valueEnd -= 1 }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[line.lowerBound..<colon]), as: UTF8.self)
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: raw[valueStart..<valueEnd]), as: UTF8.self)
            headers.fields.append(Field(name: name, value: value))
        }
        return .success(headers)
    }
}
