import CZlib

/// zlib (RFC 1950) compression, as go-micro's mDNS TXT records and Consul tags carry it.
///
/// Inflation is bounded: input from a peer never grows past `maxSize` bytes.
package enum Zlib {
    /// Compresses `bytes` into one zlib stream at the default level.
    package static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var bound = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(bound))
        let rc = out.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &bound, src.baseAddress, uLong(src.count), Z_DEFAULT_COMPRESSION)
            }
        }
        // compress2 only fails for lack of memory or a too-small buffer; compressBound rules out the latter.
        precondition(rc == Z_OK, "zlib compress2 failed: \(rc)")
        out.removeSubrange(Int(bound)...)
        return out
    }

    /// Inflates one zlib stream; throws on corrupt or truncated input, trailing bytes, or output past `maxSize`.
    package static func decompress(_ bytes: [UInt8], maxSize: Int) throws(ZlibError) -> [UInt8] {
        if bytes.isEmpty { throw ZlibError(code: .truncated) }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZlibError(code: .corrupt)
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(max(maxSize, 1), 16 * 1024))
        var input = bytes
        let result: Int32 = input.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while true {
                let rc: Int32 = chunk.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > maxSize { return Z_BUF_ERROR + 1000 }
                output.append(contentsOf: chunk[0..<produced])
                switch rc {
                case Z_STREAM_END:
                    return stream.avail_in == 0 ? Z_STREAM_END : Z_DATA_ERROR
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress possible: the input ended before the stream did.
                    return Z_BUF_ERROR
                default:
                    return Z_DATA_ERROR
                }
            }
        }
        switch result {
        case Z_STREAM_END: return output
        case Z_BUF_ERROR: throw ZlibError(code: .truncated)
        case Z_BUF_ERROR + 1000: throw ZlibError(code: .tooLarge)
        default: throw ZlibError(code: .corrupt)
        }
    }
}

/// Why zlib input could not be inflated.
package struct ZlibError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    package enum Code: String, Sendable {
        /// Not a valid zlib stream (bad header, checksum or data), or bytes after its end.
        case corrupt
        /// The stream ends before its final block.
        case truncated
        /// The output would exceed the caller's bound.
        case tooLarge
    }
    /// What went wrong.
    package var code: Code
    /// Creates an error of `code`.
    package init(code: Code) { self.code = code }
    package var description: String { "zlib: \(code.rawValue)" }
}
