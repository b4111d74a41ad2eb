import Foundation

/// A type a model's key can have: a string, an integer or a UUID.
public protocol ModelKey: ModelValueConvertible, Codable, Hashable {}

extension String: ModelKey {}
extension Int: ModelKey {}
extension Int64: ModelKey {}
extension Int32: ModelKey {}
extension UUID: ModelKey {}
