import Foundation

/// A type whose values filters can compare with a model's field: its ``modelValue`` must be what the
/// field holds in the model's Codable form. Raw-value enums get it by declaring the conformance.
public protocol ModelValueConvertible: Sendable {
    /// This value as a field value.
    var modelValue: ModelValue { get }
}

extension ModelValueConvertible where Self: RawRepresentable, RawValue: ModelValueConvertible {
    /// The raw value, as Codable writes a raw-value enum.
    public var modelValue: ModelValue { rawValue.modelValue }
}

extension String: ModelValueConvertible {
    /// `.string`.
    public var modelValue: ModelValue { .string(self) }
}

extension Substring: ModelValueConvertible {
    /// `.string`.
    public var modelValue: ModelValue { .string(String(self)) }
}

extension Bool: ModelValueConvertible {
    /// `.bool`.
    public var modelValue: ModelValue { .bool(self) }
}

extension Int: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension Int64: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(self) }
}

extension Int32: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension Int16: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension Int8: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension UInt32: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension UInt16: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension UInt8: ModelValueConvertible {
    /// `.int`.
    public var modelValue: ModelValue { .int(Int64(self)) }
}

extension Double: ModelValueConvertible {
    /// `.double`.
    public var modelValue: ModelValue { .double(self) }
}

extension Float: ModelValueConvertible {
    /// `.double`.
    public var modelValue: ModelValue { .double(Double(self)) }
}

extension Date: ModelValueConvertible {
    /// `.double`: seconds since 2001, as Codable writes a date.
    public var modelValue: ModelValue { .double(timeIntervalSinceReferenceDate) }
}

extension UUID: ModelValueConvertible {
    /// `.string`: the UUID's text, as Codable writes it.
    public var modelValue: ModelValue { .string(uuidString) }
}

extension Optional: ModelValueConvertible where Wrapped: ModelValueConvertible {
    /// The wrapped value's, or `.null`.
    public var modelValue: ModelValue { self?.modelValue ?? .null }
}

extension ModelValue: ModelValueConvertible {
    /// Itself.
    public var modelValue: ModelValue { self }
}
