@testable import MicroHTTP
import Testing

/// The broker's hand-written query parsing: ids round trip, malformed query strings do no harm.
@Suite struct BrokerQueryTests {
    @Test(arguments: ["events-1b2c", "topic/with space-x", "a&b=c+d-é", ""])
    func idsRoundTrip(_ id: String) {
        #expect(HTTPBroker.queryID("/?id=" + HTTPBroker.queryEscape(id)) == id)
    }

    @Test func plainIdsAreNotEscaped() {
        #expect(HTTPBroker.queryEscape("greetings-3f2a-9c1e_x.y") == "greetings-3f2a-9c1e_x.y")
    }

    @Test(arguments: [("/", ""), ("/?", ""), ("/?x=1", ""), ("/?x=1&id=abc", "abc"), ("/?id=%ZZ", "%ZZ"), ("/?id=", ""), ("?id=a&id=b", "a")])
    func malformedAndUnusualQueries(_ uri: String, _ expected: String) {
        #expect(HTTPBroker.queryID(uri) == expected)
    }
}
