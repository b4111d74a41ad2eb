/// The error object of a JetStream API answer: `{"code": 404, "err_code": 10059, "description": "stream not found"}`.
public struct JetStreamAPIError: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The HTTP-like status (400, 404, 500, 503).
    public var code: Int
    /// JetStream's own error number.
    public var errorCode: JetStreamErrorCode
    /// The server's text.
    public var description: String

    /// An API error.
    public init(code: Int, errorCode: JetStreamErrorCode, description: String) {
        self.code = code
        self.errorCode = errorCode
        self.description = description
    }

    private enum CodingKeys: String, CodingKey { case code, errorCode = "err_code", description }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decodeIfPresent(Int.self, forKey: .code) ?? 0
        errorCode = JetStreamErrorCode(rawValue: try c.decodeIfPresent(Int.self, forKey: .errorCode) ?? 0)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(errorCode.rawValue, forKey: .errorCode)
        try c.encode(description, forKey: .description)
    }
}
