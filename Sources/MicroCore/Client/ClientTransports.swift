/// A client's transports by the protocol each speaks, and those protocols as a set (made once, so
/// selecting a node that speaks one of them builds nothing per call).
struct ClientTransports: Sendable {
    let byName: [String: any ClientTransport]
    let protocols: Set<String>

    init(_ transports: [any ClientTransport]) {
        var byName: [String: any ClientTransport] = [:]
        for t in transports { byName[t.protocolName] = t }
        self.byName = byName
        protocols = Set(byName.keys)
    }

    subscript(_ name: String) -> (any ClientTransport)? { byName[name] }

    /// The transport for a call to a bare address: mucp's, else any.
    var forAddress: (any ClientTransport)? { byName["mucp"] ?? byName.values.first }

    var all: Dictionary<String, any ClientTransport>.Values { byName.values }
}
