/// A ``ModelFilter`` checked against a model's fields: what backends evaluate or translate.
package struct ModelPredicate: Sendable, CustomStringConvertible {
    /// The field compared.
    package let field: ModelLayout.Field
    /// The comparison.
    package let op: ModelFilterOperator
    /// The value compared with: `.null` only for `==` and `!=`; a number for numeric fields, a string
    /// for strings, a bool for booleans.
    package let value: ModelValue

    /// `filter` on `layout`; ``StoreError/Code/invalidArgument`` for an unknown field, a value of
    /// another kind than the field's, an order on nested JSON or a prefix on a non-string.
    package init<M: Model>(_ filter: ModelFilter<M>, in layout: ModelLayout) throws {
        guard let field = layout.field(filter.field) else {
            throw StoreError(.invalidArgument, "\(layout.model) has no field '\(StoreKey.printable(filter.field))' (filter \(filter))")
        }
        self.field = field
        self.op = filter.op
        self.value = filter.value
        let value = filter.value
        if value == .null {
            guard op == .equal || op == .notEqual else {
                throw StoreError(.invalidArgument, "filter \(filter): nil can only be compared with == or !=")
            }
            return
        }
        let fits: Bool
        switch (field.kind, value) {
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double), (.string, .string), (.bool, .bool): fits = true
        default: fits = false
        }
        guard field.kind != .json else {
            throw StoreError(.invalidArgument, "filter \(filter): field '\(field.name)' holds nested JSON and can only be compared with nil")
        }
        guard fits else {
            throw StoreError(.invalidArgument, "filter \(filter): field '\(field.name)' holds \(field.kind == .int ? "an" : "a") \(field.kind), not a value like \(value)")
        }
        if case .double(let d) = value, d.isNaN {
            throw StoreError(.invalidArgument, "filter \(filter): NaN compares with nothing")
        }
        if op == .prefix, field.kind != .string {
            throw StoreError(.invalidArgument, "filter \(filter): a prefix filter needs a string field, '\(field.name)' holds \(field.kind)")
        }
    }

    /// Whether a row whose field holds `actual` (nil: missing, as null) meets this predicate.
    package func matches(_ actual: ModelValue?) -> Bool {
        let actual = actual ?? .null
        switch op {
        case .equal: return actual.compare(value) == 0 && (actual == .null) == (value == .null)
        case .notEqual: return !(actual.compare(value) == 0 && (actual == .null) == (value == .null))
        case .prefix:
            guard case .string(let s) = actual, case .string(let p) = value else { return false }
            return s.utf8.starts(with: p.utf8)
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard actual != .null, let order = actual.compare(value) else { return false }
            switch op {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        }
    }

    package var description: String { "\(field.name) \(op.rawValue) \(value)" }
}
