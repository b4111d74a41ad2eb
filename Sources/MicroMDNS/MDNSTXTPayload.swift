import Foundation
import MicroCore

/// go-micro's mDNS TXT payload: JSON `{"Metadata","Service","Version","Endpoints"}` (Metadata is the
/// node's), zlib-compressed, hex-encoded and cut into strings of at most 255 characters.
///
/// Swift Micro adds `ServiceMetadata` (the service's metadata, which go-micro's format lacks); Go's JSON
/// decoder ignores it, and a payload without it reads as empty service metadata.
struct MDNSTXTPayload: Hashable, Sendable, Codable {
    var service: String
    var version: String
    var endpoints: [Endpoint]
    /// The node's metadata.
    var metadata: [String: String]
    /// The service's metadata (a Swift Micro addition).
    var serviceMetadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case metadata = "Metadata", service = "Service", version = "Version", endpoints = "Endpoints"
        case serviceMetadata = "ServiceMetadata"
    }

    init(service: String, version: String, endpoints: [Endpoint], metadata: [String: String], serviceMetadata: [String: String]) {
        self.service = service
        self.version = version
        self.endpoints = endpoints
        self.metadata = metadata
        self.serviceMetadata = serviceMetadata
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        service = try c.decodeIfPresent(String.self, forKey: .service) ?? ""
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        serviceMetadata = try c.decodeIfPresent([String: String].self, forKey: .serviceMetadata) ?? [:]
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(service, forKey: .service)
        try c.encode(version, forKey: .version)
        try c.encode(endpoints, forKey: .endpoints)
        if !serviceMetadata.isEmpty { try c.encode(serviceMetadata, forKey: .serviceMetadata) }
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return e
    }()

    /// The TXT strings for this payload.
    func txtStrings() throws(MDNSError) -> [[UInt8]] {
        let json: Data
        do { json = try Self.encoder.encode(self) } catch {
            throw MDNSError(.invalidArgument, "cannot encode the TXT payload of \(service): \(error)")
        }
        let hex = Self.hex(Zlib.compress([UInt8](json)))
        var strings: [[UInt8]] = []
        var start = 0
        while start < hex.count {
            let end = min(start + 255, hex.count)
            strings.append(Array(hex[start..<end]))
            start = end
        }
        return strings
    }

    /// Reads a payload from TXT strings; throws ``MDNSError/Code/malformedTXT`` for anything else.
    static func decode(_ strings: [[UInt8]], maxPayloadBytes: Int) throws(MDNSError) -> MDNSTXTPayload {
        let total = strings.reduce(0) { $0 + $1.count }
        guard total > 0, total % 2 == 0 else { throw MDNSError(.malformedTXT, "\(total) hex digits") }
        var compressed: [UInt8] = []
        compressed.reserveCapacity(total / 2)
        var high: UInt8?
        for s in strings {
            for c in s {
                guard let v = nibble(c) else { throw MDNSError(.malformedTXT, "not hex") }
                if let h = high {
                    compressed.append(h << 4 | v)
                    high = nil
                } else {
                    high = v
                }
            }
        }
        let json: [UInt8]
        do { json = try Zlib.decompress(compressed, maxSize: maxPayloadBytes) } catch {
            throw MDNSError(.malformedTXT, "\(error)")
        }
        do { return try JSONDecoder().decode(MDNSTXTPayload.self, from: Data(json)) } catch {
            throw MDNSError(.malformedTXT, "not go-micro's TXT JSON")
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    private static func hex(_ bytes: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return out
    }
}
