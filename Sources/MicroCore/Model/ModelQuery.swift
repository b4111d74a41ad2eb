/// A list or count of a model's rows, checked against its layout: what a backend answers.
package struct ModelQuery: Sendable {
    /// Rows meet all of these.
    package var predicates: [ModelPredicate]
    /// The field to order by (then by key), largest first when `descending`; nil: by key.
    package var order: (field: ModelLayout.Field, descending: Bool)?
    /// The most rows returned; nil no limit.
    package var limit: Int?
    /// Rows skipped first.
    package var offset: Int

    /// A query; ``StoreError/Code/invalidArgument`` for a negative limit or offset or an unknown order field.
    package init<M: Model>(_ filters: [ModelFilter<M>], order: ModelOrder<M>?, limit: Int?, offset: Int, in layout: ModelLayout) throws {
        predicates = try filters.map { try ModelPredicate($0, in: layout) }
        if let order {
            guard let field = layout.field(order.field) else {
                throw StoreError(.invalidArgument, "\(layout.model) has no field '\(StoreKey.printable(order.field))' to order by")
            }
            guard field.kind != .json else {
                throw StoreError(.invalidArgument, "\(layout.model)'s field '\(field.name)' holds nested JSON and cannot order rows")
            }
            self.order = (field, order.descending)
        } else {
            self.order = nil
        }
        if let limit, limit < 0 { throw StoreError(.invalidArgument, "a limit may not be negative, got \(limit)") }
        if offset < 0 { throw StoreError(.invalidArgument, "an offset may not be negative, got \(offset)") }
        self.limit = limit
        self.offset = offset
    }
}
