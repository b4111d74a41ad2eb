/// A failure converting between JSON and binary protobuf through descriptors: what went wrong
/// (``Code``), where (a field path such as `items[2].name`), and a message naming the culprit.
package struct ProtoTranscodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure.
    package enum Code: String, Sendable, Equatable {
        /// The JSON text is not JSON.
        case malformedJSON
        /// A JSON value has the wrong type for its field (or is out of its range).
        case wrongType
        /// The JSON names a field the message does not have.
        case unknownField
        /// A field appears twice (or two members of one oneof are set).
        case duplicateField
        /// The binary protobuf is malformed (truncated, a wrong wire type, a length past the end).
        case malformedProtobuf
        /// Messages nest deeper than the bound.
        case tooDeep
        /// A message, enum or method the descriptors do not define.
        case unknownType
        /// A type the transcoder does not handle (`google.protobuf.Any`, proto2 groups).
        case unsupported
    }

    /// What went wrong.
    package var code: Code
    /// The field path (`a.b[2]`), empty at the top level.
    package var path: String
    /// A human-readable explanation.
    package var message: String

    /// An error of `code` at `path`.
    package init(_ code: Code, path: String = "", _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    package var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
