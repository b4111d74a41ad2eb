/// Where an HTTP path leads: the service and endpoint go-micro's API gateway resolves it to.
///
/// go-micro's rules: `/greeter/hello` → `greeter` `Greeter.Hello`; `/greeter/Greeter/Hello` → `greeter`
/// `Greeter.Hello`; `/v1/greeter/hello` → `v1.greeter` `Greeter.Hello`; longer paths take all but the last
/// two segments as the service (`/a/b/Foo/Bar` → `a.b` `Foo.Bar`); a single segment `/greeter` → `Greeter.Call`.
/// Segments are camel-cased at dashes (`say-hello` → `SayHello`). A namespace prefixes the service.
public struct APIRoute: Sendable, Hashable {
    /// The service called.
    public var service: String
    /// The endpoint called, `Type.Method`.
    public var endpoint: String

    /// The longest path resolved, and the most segments: anything longer is refused.
    static let maxPathLength = 1024
    static let maxSegments = 16

    public init(service: String, endpoint: String) {
        self.service = service
        self.endpoint = endpoint
    }

    /// Resolves a request path (without the query); nil when it names no endpoint (empty, too long,
    /// a segment that is not a plain name).
    public static func resolve(path: String, namespace: String = "") -> APIRoute? {
        guard path.utf8.count <= maxPathLength else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !parts.isEmpty, parts.count <= maxSegments, parts.allSatisfy(isName) else { return nil }
        let service: [String]
        let method: [String]
        switch parts.count {
        case 1:
            service = parts
            method = [parts[0], "call"]
        case 2:
            service = [parts[0]]
            method = parts
        case 3 where isVersion(parts[0]):
            service = Array(parts[..<2])
            method = Array(parts[1...])
        default:
            service = Array(parts[..<(parts.count - 2)])
            method = Array(parts[(parts.count - 2)...])
        }
        let name = service.joined(separator: ".")
        return APIRoute(service: namespace.isEmpty ? name : namespace + "." + name,
                        endpoint: method.map(camel).joined(separator: "."))
    }

    /// Letters, digits, `-`, `_` and `.` only: no traversal (`..`), no encoded bytes, no markup.
    static func isName(_ s: String) -> Bool {
        guard s != ".", s != ".." else { return false }
        return s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_" || c == "."
        }
    }

    /// `v1`, `v2`, ...: a version segment.
    static func isVersion(_ s: String) -> Bool {
        s.count > 1 && s.first == "v" && s.dropFirst().allSatisfy(\.isASCII) && s.dropFirst().allSatisfy(\.isNumber)
    }

    /// `say-hello` → `SayHello`; `hello` → `Hello`; `Greeter` stays.
    static func camel(_ s: String) -> String {
        s.split(separator: "-").map { word in word.prefix(1).uppercased() + word.dropFirst() }.joined()
    }
}
