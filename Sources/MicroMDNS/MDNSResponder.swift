import NIOCore

/// Answers queries from the records of this process's nodes (RFC 6762 §6, RFC 6763 §12).
///
/// Each node's group of records (go-micro's instance, the wildcard entry, the DNS-SD instance) is
/// answered in a packet of its own, with the group's other records as additional records: go-micro's
/// client reads one node per packet.
struct MDNSResponder: Sendable {
    /// One packet to send.
    struct Reply: Sendable, Equatable {
        var message: DNSMessage
        /// Whether it goes back to the querier only (legacy unicast or QU) rather than to the group.
        var unicast: Bool
    }

    /// The replies to `query` from a querier on `sourcePort`, given the groups of records of every
    /// local node and the meta-query answers. Known answers the querier listed with at least half
    /// their TTL left are left out (RFC 6762 §7.1).
    static func replies(to query: DNSMessage, sourcePort: Int, mdnsPort: Int, groups: [[DNSResourceRecord]],
                        meta: [DNSResourceRecord]) -> [Reply] {
        guard !query.isResponse, query.opcode == 0, query.responseCode == 0, !query.questions.isEmpty else { return [] }
        // A query from a port other than 5353 is a legacy unicast query (RFC 6762 §6.7): the reply goes
        // back to it with its id and questions, without cache-flush bits. go-micro's client is one.
        let legacy = sourcePort != mdnsPort
        let known = query.answers
        func suppressed(_ r: DNSResourceRecord) -> Bool {
            known.contains { $0.name == r.name && $0.data == r.data && $0.ttl >= r.ttl / 2 }
        }
        var replies: [Reply] = []
        var seen = Set<[DNSResourceRecord]>()
        for q in query.questions {
            let unicast = legacy || q.unicastResponse
            var candidates = groups
            let metaAnswers = meta.filter { q.matches($0) }
            if !metaAnswers.isEmpty { candidates.append(metaAnswers) }
            for group in candidates {
                let answers = group.filter { q.matches($0) && !suppressed($0) }
                guard !answers.isEmpty else { continue }
                let addressOnly = answers.allSatisfy { $0.type == .a || $0.type == .aaaa }
                let additionals = addressOnly ? [] : group.filter { r in !answers.contains(r) && !suppressed(r) }
                guard seen.insert(answers + additionals).inserted else { continue }
                var m = DNSMessage.response(answers: answers, additionals: additionals)
                if legacy {
                    m.id = query.id
                    m.questions = [q]
                    m.answers = m.answers.map { var r = $0; r.cacheFlush = false; return r }
                    m.additionals = m.additionals.map { var r = $0; r.cacheFlush = false; return r }
                }
                replies.append(Reply(message: m, unicast: unicast))
            }
        }
        return replies
    }
}
