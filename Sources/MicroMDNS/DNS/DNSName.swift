/// A domain name as a list of labels (raw bytes), compared ASCII-case-insensitively as DNS does.
///
/// Every value is valid: labels of 1...63 bytes, at most 255 bytes on the wire.
struct DNSName: Sendable, CustomStringConvertible {
    /// The labels, root excluded (`["_micro", "_tcp", "local"]`).
    let labels: [[UInt8]]

    /// The root name (`.`).
    static let root = DNSName(validated: [])

    private init(validated labels: [[UInt8]]) { self.labels = labels }

    /// A name from raw labels; throws when a label is empty or over 63 bytes, or the name over 255 bytes.
    init(labels: [[UInt8]]) throws(DNSError) {
        var wire = 1
        for label in labels {
            guard !label.isEmpty, label.count <= 63 else {
                throw DNSError(label.isEmpty ? .unencodable : .labelTooLong, "label of \(label.count) bytes")
            }
            wire += label.count + 1
        }
        guard wire <= 255 else { throw DNSError(.nameTooLong, "\(wire) bytes") }
        self.labels = labels
    }

    /// A name from dotted text (`"greeter.micro."`; the trailing dot is optional, no escapes).
    init(_ text: String) throws(DNSError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var labels = parts.map { Array($0.utf8) }
        if labels.last?.isEmpty == true { labels.removeLast() }
        if labels.count == 1 && labels[0].isEmpty { labels = [] }
        try self.init(labels: labels)
    }

    /// A name of `first` (one label, taken as is, dots included) followed by `rest`.
    init(label first: String, _ rest: DNSName) throws(DNSError) {
        try self.init(labels: [Array(first.utf8)] + rest.labels)
    }

    /// Bytes on the wire without compression (each label's length byte, the labels, the root byte).
    var wireLength: Int { labels.reduce(1) { $0 + $1.count + 1 } }

    /// The dotted form with a trailing dot (`greeter.micro.`); the root is `.`.
    var description: String {
        labels.isEmpty ? "." : labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".") + "."
    }

    /// The first label as text (an instance's name).
    var firstLabel: String? { labels.first.map { String(decoding: $0, as: UTF8.self) } }

    /// The name without its first `count` labels.
    func dropFirst(_ count: Int = 1) -> DNSName { DNSName(validated: Array(labels.dropFirst(count))) }

    /// Whether the name ends with `suffix`'s labels (case-insensitively).
    func hasSuffix(_ suffix: DNSName) -> Bool {
        guard suffix.labels.count <= labels.count else { return false }
        let offset = labels.count - suffix.labels.count
        for i in suffix.labels.indices where !Self.equal(labels[offset + i], suffix.labels[i]) { return false }
        return true
    }

    /// The lowercased labels, the form used for hashing and compression.
    var canonical: [[UInt8]] { labels.map(Self.lower) }

    static func lower(_ label: [UInt8]) -> [UInt8] {
        label.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        for i in a.indices {
            let x = a[i] >= 0x41 && a[i] <= 0x5A ? a[i] | 0x20 : a[i]
            let y = b[i] >= 0x41 && b[i] <= 0x5A ? b[i] | 0x20 : b[i]
            if x != y { return false }
        }
        return true
    }
}

extension DNSName: Hashable {
    static func == (a: DNSName, b: DNSName) -> Bool {
        guard a.labels.count == b.labels.count else { return false }
        for i in a.labels.indices where !equal(a.labels[i], b.labels[i]) { return false }
        return true
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(canonical)
    }
}
