import MicroCore
import Testing

@Suite struct ZlibTests {
    @Test func roundTripsAndCompresses() throws {
        let text = Array(String(repeating: "{\"Service\":\"greeter\"}", count: 50).utf8)
        let packed = Zlib.compress(text)
        #expect(packed.count < text.count / 5)
        #expect(packed.first == 0x78)  // zlib header, deflate with a 32 KiB window
        #expect(try Zlib.decompress(packed, maxSize: 1 << 20) == text)
        #expect(try Zlib.decompress(Zlib.compress([]), maxSize: 16) == [])
    }

    @Test func inflatesWhatOtherZlibWritersProduce() throws {
        // Python: zlib.compress(b"hello hello hello")
        let fromPython: [UInt8] = [0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x3a, 0x2e, 0x06, 0x7d]
        #expect(try Zlib.decompress(fromPython, maxSize: 100) == Array("hello hello hello".utf8))
    }

    @Test func rejectsCorruptTruncatedTrailingAndOversizedInput() {
        let packed = Zlib.compress(Array(repeating: 7, count: 100_000))
        #expect(throws: ZlibError(code: .tooLarge)) { try Zlib.decompress(packed, maxSize: 99_999) }
        #expect(throws: ZlibError(code: .truncated)) { try Zlib.decompress(Array(packed.dropLast(5)), maxSize: 1 << 20) }
        #expect(throws: ZlibError(code: .truncated)) { try Zlib.decompress([], maxSize: 10) }
        #expect(throws: ZlibError(code: .corrupt)) { try Zlib.decompress(packed + [0], maxSize: 1 << 20) }
        #expect(throws: ZlibError(code: .corrupt)) { try Zlib.decompress([0x12, 0x34, 0x56, 0x78], maxSize: 10) }
        var flipped = packed
        flipped[flipped.count / 2] ^= 0xff
        #expect(throws: ZlibError.self) { try Zlib.decompress(flipped, maxSize: 1 << 20) }
        // Seeded garbage never crashes.
        var state: UInt64 = 42
        for _ in 0..<2000 {
            let n = Int(state % 64)
            var junk: [UInt8] = [0x78, 0x9c]
            for _ in 0..<n { state = state &* 6364136223846793005 &+ 1442695040888963407; junk.append(UInt8(truncatingIfNeeded: state >> 33)) }
            _ = try? Zlib.decompress(junk, maxSize: 4096)
        }
    }
}
