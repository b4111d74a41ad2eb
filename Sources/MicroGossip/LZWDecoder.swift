/// Decompresses memberlist's compressed payloads: Go's `compress/lzw` stream, least-significant-bit
/// first, 8-bit literals, codes of 9 to 12 bits; output bounded.
enum LZWDecoder {
    /// `input` decompressed; throws ``GossipWireError/Code/badCompression`` on an invalid stream and
    /// ``GossipWireError/Code/tooLarge`` past `limit` bytes of output.
    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        let clear = 256, eof = 257, maxWidth = 12, tableSize = 1 << maxWidth
        let invalid = -1
        var suffix = [UInt8](repeating: 0, count: tableSize)
        var prefix = [Int](repeating: 0, count: tableSize)
        var width = 9
        var hi = eof
        var overflow = 1 << width
        var last = invalid
        var bits: UInt32 = 0
        var nBits = 0
        var inputIndex = 0
        var output: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: tableSize)
        while true {
            // Read one code, LSB first.
            while nBits < width {
                guard inputIndex < input.count else {
                    // Go's reader reports an unexpected EOF when the stream ends without its EOF code.
                    throw GossipWireError(.badCompression, "lzw stream ends without its end code")
                }
                bits |= UInt32(input[inputIndex]) << UInt32(nBits)
                inputIndex += 1
                nBits += 8
            }
            let code = Int(bits & ((1 << UInt32(width)) - 1))
            bits >>= UInt32(width)
            nBits -= width
            if code < clear {
                output.append(UInt8(code))
                if last != invalid {
                    suffix[hi] = UInt8(code)
                    prefix[hi] = last
                }
            } else if code == clear {
                width = 9
                hi = eof
                overflow = 1 << width
                last = invalid
                continue
            } else if code == eof {
                return output
            } else if code <= hi {
                var c = code
                var i = tableSize - 1
                if code == hi {
                    guard last != invalid else { throw GossipWireError(.badCompression, "lzw code \(code) before any literal") }
                    // The special case: the last expansion followed by its own first byte.
                    c = last
                    while c >= clear { c = prefix[c] }
                    scratch[i] = UInt8(c)
                    i -= 1
                    c = last
                }
                while c >= clear {
                    guard i >= 0 else { throw GossipWireError(.badCompression, "lzw chain too long") }
                    scratch[i] = suffix[c]
                    i -= 1
                    c = prefix[c]
                }
                guard i >= 0 else { throw GossipWireError(.badCompression, "lzw chain too long") }
                scratch[i] = UInt8(c)
                output.append(contentsOf: scratch[i..<tableSize])
                if last != invalid {
                    suffix[hi] = UInt8(c)
                    prefix[hi] = last
                }
            } else {
                throw GossipWireError(.badCompression, "lzw invalid code \(code)")
            }
            guard output.count <= limit else { throw GossipWireError(.tooLarge, "decompressed payload over \(limit) bytes") }
            last = code
            hi += 1
            if hi >= overflow {
                if width == maxWidth {
                    last = invalid
                    hi -= 1
                } else {
                    width += 1
                    overflow = 1 << width
                }
            }
        }
    }
}
