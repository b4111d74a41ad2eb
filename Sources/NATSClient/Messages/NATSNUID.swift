/// Unique ids for inboxes, in the manner of NATS NUIDs: a random 12-character base-62 prefix and a
/// 10-character sequence advanced by a random increment, re-randomizing the prefix on overflow.
struct NATSNUID: Sendable {
    private static let digits: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let prefixLength = 12
    private static let sequenceLength = 10
    private static let maxSequence: Int64 = 839_299_365_868_340_224 // 62^10
    private var prefix: [UInt8] = []
    private var sequence: Int64 = 0
    private var increment: Int64 = 0

    init() {
        randomizePrefix()
        resetSequence()
    }

    private mutating func randomizePrefix() {
        var rng = SystemRandomNumberGenerator()
        prefix = (0..<Self.prefixLength).map { _ in Self.digits[Int.random(in: 0..<62, using: &rng)] }
    }

    private mutating func resetSequence() {
        sequence = Int64.random(in: 0..<Self.maxSequence)
        increment = Int64.random(in: 33..<333)
    }

    /// The next 22-character id.
    mutating func next() -> String {
        sequence += increment
        if sequence >= Self.maxSequence {
            randomizePrefix()
            resetSequence()
        }
        var bytes = prefix
        bytes.reserveCapacity(Self.prefixLength + Self.sequenceLength)
        var tail = [UInt8](repeating: 0, count: Self.sequenceLength)
        var n = sequence
        for i in stride(from: Self.sequenceLength - 1, through: 0, by: -1) {
            tail[i] = Self.digits[Int(n % 62)]
            n /= 62
        }
        bytes += tail
        return String(decoding: bytes, as: UTF8.self)
    }
}
