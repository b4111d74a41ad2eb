/// The rules for record keys, the same in every backend.
///
/// A key is 1 to ``maxLength`` bytes of UTF-8 without NUL (PostgreSQL's text cannot hold one). Keys
/// are compared as their UTF-8 bytes: two keys are the same only when their bytes are (so `"é"` and
/// `"e\u{301}"` are different keys, though Swift's `==` calls them equal), and key order — of
/// prefix reads and lists — is ascending byte order, which is also Unicode code point order.
public enum StoreKey {
    /// The longest key, in UTF-8 bytes.
    public static let maxLength = 1024

    /// Throws ``StoreError/Code/invalidKey`` unless `key` is a valid key.
    public static func validate(_ key: String) throws {
        try validate(key, role: "key", allowEmpty: false)
    }

    /// Throws ``StoreError/Code/invalidKey`` unless `text` is a valid prefix or suffix: as a key, but
    /// empty (no filter) allowed.
    public static func validateAffix(_ text: String, role: String) throws {
        try validate(text, role: role, allowEmpty: true)
    }

    private static func validate(_ text: String, role: String, allowEmpty: Bool) throws {
        let bytes = text.utf8
        if bytes.isEmpty {
            if allowEmpty { return }
            throw StoreError(.invalidKey, "a \(role) may not be empty")
        }
        guard bytes.count <= maxLength else {
            throw StoreError(.invalidKey, "a \(role) is at most \(maxLength) bytes, got \(bytes.count)")
        }
        if bytes.withContiguousStorageIfAvailable({ $0.contains(0) }) ?? bytes.contains(0) {
            throw StoreError(.invalidKey, "a \(role) may not hold NUL: '\(printable(text))'")
        }
    }

    /// Whether `a` sorts before `b` in key order (their UTF-8 bytes, lexicographically).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Whether `a` and `b` are the same key (the same UTF-8 bytes).
    public static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// The least string greater than every string that starts with `prefix` (nil when there is none,
    /// for a prefix of only U+10FFFF), so `key >= prefix AND key < bound` is a prefix match on an
    /// index in byte order: the last scalar that can grow grows by one, and what follows it is dropped.
    public static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }  // past the surrogates, which no string holds
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var result = String.UnicodeScalarView()
                result.append(contentsOf: scalars)
                return String(result)
            }
        }
        return nil
    }

    /// `text` cut to 64 characters with control characters escaped, for error messages.
    package static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 64 ? out + "…" : out
    }
}
