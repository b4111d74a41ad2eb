import Foundation

/// A message on the broker: go-micro's `{"Header": {...}, "Body": <base64>}`.
public struct BrokerMessage: Sendable, Hashable, Codable {
    /// Headers: `Content-Type`, `Micro-Topic`, `Micro-Id` and the publisher's metadata.
    public var header: [String: String]
    /// The codec-encoded payload.
    public var body: [UInt8]

    /// Creates a message.
    public init(header: [String: String] = [:], body: [UInt8] = []) {
        self.header = header
        self.body = body
    }

    enum CodingKeys: String, CodingKey {
        case header = "Header"
        case body = "Body"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        header = try c.decodeIfPresent([String: String].self, forKey: .header) ?? [:]
        if let text = try c.decodeIfPresent(String.self, forKey: .body) {
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(forKey: .body, in: c, debugDescription: "Body is not base64")
            }
            body = [UInt8](data)
        } else {
            body = []
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(header, forKey: .header)
        try c.encode(Data(body).base64EncodedString(), forKey: .body)
    }

    /// A header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        if let v = header[name] { return v }
        let lower = name.lowercased()
        return header.first { $0.key.lowercased() == lower }?.value
    }
}
