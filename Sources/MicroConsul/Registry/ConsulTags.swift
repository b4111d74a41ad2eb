import ConsulClient
import Foundation
import MicroCore

/// go-micro's Consul tag encoding: a record's version, endpoints and node metadata travel as service
/// tags `v-<hex>`, `e-<hex>` (one per endpoint) and `t-<hex>` (one per metadata pair), each the hex of
/// the zlib-compressed value (the version's text; the endpoint's JSON; `{"key":"value"}`). Plain
/// legacy tags (`v=`, `e=`, `t=` followed by the text) are read too. The service-wide metadata, which
/// go-micro drops, optionally travels in one tag `m-<hex(zlib(JSON))>` that go-micro ignores.
public enum ConsulTags {
    /// What a service instance's tags carry.
    public struct Decoded: Sendable, Hashable {
        /// The version (`""` without a version tag, as go-micro reads it).
        public var version: String
        /// The endpoints, in tag order.
        public var endpoints: [Endpoint]
        /// The node's metadata.
        public var nodeMetadata: [String: String]
        /// The service-wide metadata (from the `m-` tag; empty without one).
        public var serviceMetadata: [String: String]
    }

    /// The tags for one node of `service`: node metadata pairs (in key order), endpoints, version,
    /// then the service-metadata tag when asked for and not empty.
    public static func encode(_ service: ServiceRecord, node: Node, serviceMetadata: Bool = true) -> [String] {
        var tags: [String] = []
        for key in GoFormat.sortedKeys(node.metadata) {
            var json: [UInt8] = []
            GoFormat.appendJSONMap([key: node.metadata[key] ?? ""], emptyIsNull: false, to: &json)
            tags.append("t-" + hex(Zlib.compress(json)))
        }
        for endpoint in service.endpoints {
            tags.append("e-" + hex(Zlib.compress(endpointJSON(endpoint))))
        }
        tags.append("v-" + hex(Zlib.compress(Array(service.version.utf8))))
        if serviceMetadata && !service.metadata.isEmpty {
            var json: [UInt8] = []
            GoFormat.appendJSONMap(service.metadata, emptyIsNull: false, to: &json)
            tags.append("m-" + hex(Zlib.compress(json)))
        }
        return tags
    }

    /// Reads the tags back; tags of other prefixes (a user's own) are ignored. A malformed `v`, `e`,
    /// `t` or `m` tag, or one inflating past `maxTagBytes`, throws.
    public static func decode(_ tags: [String], maxTagBytes: Int = 256 * 1024) throws(ConsulError) -> Decoded {
        var result = Decoded(version: "", endpoints: [], nodeMetadata: [:], serviceMetadata: [:])
        var sawVersion = false
        for tag in tags {
            let bytes = Array(tag.utf8)
            guard bytes.count >= 2, bytes[1] == UInt8(ascii: "-") || bytes[1] == UInt8(ascii: "=") else { continue }
            let kind = bytes[0]
            guard kind == UInt8(ascii: "v") || kind == UInt8(ascii: "e") || kind == UInt8(ascii: "t") || kind == UInt8(ascii: "m") else { continue }
            let payload = try content(bytes, maxTagBytes: maxTagBytes, tag: tag)
            if kind != UInt8(ascii: "v"), JSONDepth.exceeds(payload, limit: 64) { throw malformed(tag, "JSON nested too deep") }
            switch kind {
            case UInt8(ascii: "v"):
                // go-micro uses the first version tag.
                guard !sawVersion else { continue }
                guard let version = String(validating: payload, as: UTF8.self) else { throw malformed(tag, "version is not UTF-8") }
                result.version = version
                sawVersion = true
            case UInt8(ascii: "e"):
                do { result.endpoints.append(try JSONDecoder().decode(Endpoint.self, from: Data(payload))) } catch {
                    throw malformed(tag, "endpoint JSON: \(error)")
                }
            case UInt8(ascii: "t"):
                result.nodeMetadata.merge(try stringMap(payload, tag: tag)) { $1 }
            default:
                result.serviceMetadata.merge(try stringMap(payload, tag: tag)) { $1 }
            }
        }
        return result
    }

    /// An endpoint as go-micro's `json.Marshal` writes it: `{"name","request","response","metadata"}`
    /// in that order, absent values as `null`.
    public static func endpointJSON(_ endpoint: Endpoint) -> [UInt8] {
        var out: [UInt8] = Array(#"{"name":"#.utf8)
        GoFormat.appendJSONString(endpoint.name, to: &out)
        out += Array(#","request":"#.utf8)
        appendValue(endpoint.request, to: &out)
        out += Array(#","response":"#.utf8)
        appendValue(endpoint.response, to: &out)
        out += Array(#","metadata":"#.utf8)
        GoFormat.appendJSONMap(endpoint.metadata, emptyIsNull: false, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func appendValue(_ value: Value?, to out: inout [UInt8]) {
        guard let value else { out += Array("null".utf8); return }
        out += Array(#"{"name":"#.utf8)
        GoFormat.appendJSONString(value.name, to: &out)
        out += Array(#","type":"#.utf8)
        GoFormat.appendJSONString(value.type, to: &out)
        out += Array(#","values":"#.utf8)
        if value.values.isEmpty {
            out += Array("null".utf8)
        } else {
            out.append(UInt8(ascii: "["))
            for (i, v) in value.values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendValue(v, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The tag's content: after `x=` as is; after `x-` hex-decoded and inflated (bounded).
    private static func content(_ bytes: [UInt8], maxTagBytes: Int, tag: String) throws(ConsulError) -> [UInt8] {
        let body = bytes[2...]
        if bytes[1] == UInt8(ascii: "=") {
            guard body.count <= maxTagBytes else { throw malformed(tag, "longer than \(maxTagBytes) bytes") }
            return Array(body)
        }
        // zlib rarely inflates less than its input; a hex text this long cannot be a sane tag.
        guard body.count <= 2 * maxTagBytes + 64 else { throw malformed(tag, "longer than \(maxTagBytes) bytes") }
        guard let compressed = unhex(body) else { throw malformed(tag, "not hex") }
        do {
            return try Zlib.decompress(compressed, maxSize: maxTagBytes)
        } catch {
            throw malformed(tag, "\(error)")
        }
    }

    private static func stringMap(_ payload: [UInt8], tag: String) throws(ConsulError) -> [String: String] {
        do { return try JSONDecoder().decode([String: String].self, from: Data(payload)) } catch {
            throw malformed(tag, "metadata JSON: \(error)")
        }
    }

    private static func malformed(_ tag: String, _ why: String) -> ConsulError {
        ConsulError(.invalidResponse, "malformed tag \(tag.prefix(24))...: \(why)")
    }

    /// Lowercase hex, as Go's `hex.EncodeToString`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hex (either case) to bytes; nil for an odd length or a non-hex character.
    static func unhex<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(text.count / 2)
        var high: UInt8?
        for c in text {
            guard let n = nibble(c) else { return nil }
            if let h = high { out.append(h << 4 | n); high = nil } else { high = n }
        }
        return out
    }
}
