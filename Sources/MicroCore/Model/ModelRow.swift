/// A model's row as a backend returns it: the model's JSON and its revision.
package struct ModelRow: Sendable {
    /// The model's Codable form.
    package var json: [UInt8]
    /// The row's revision.
    package var revision: UInt64

    package init(json: [UInt8], revision: UInt64) {
        self.json = json
        self.revision = revision
    }
}
