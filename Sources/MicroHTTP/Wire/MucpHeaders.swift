import MicroCore
import NIOCore
import NIOHTTP1

/// go-micro's mucp-over-HTTP headers: how an ``RPCRequest`` becomes HTTP headers and back.
enum MucpHeaders {
    /// Headers that are framing, not caller metadata.
    static var reserved: Set<String> { RPCHeaders.reserved }

    /// Reads go-micro's headers in one pass over the request's headers (the `X-` forms count too);
    /// everything that is not framing becomes the call's metadata; `/Service/Method` paths route too.
    static func request(from head: HTTPRequestHead, body: ByteBuffer) throws -> RPCRequest {
        try RPCHeaders.request(head.headers, body: body) {
            // go-micro's HTTP handler also routes /Service/Method paths.
            let parts = head.uri.split(separator: "?").first.map { $0.split(separator: "/") } ?? []
            return parts.count == 2 ? "\(parts[0]).\(parts[1])" : nil
        }
    }

    static func headers(for request: RPCRequest, host: String) -> HTTPHeaders {
        var h = HTTPHeaders()
        h.reserveCapacity(8 + request.metadata.count)
        h.add(name: "Host", value: host)
        h.add(name: "Content-Type", value: request.contentType)
        h.add(name: "Accept", value: request.contentType)
        if !request.id.isEmpty { h.add(name: "Micro-Id", value: request.id) }
        h.add(name: "Micro-Service", value: request.service)
        h.add(name: "Micro-Method", value: request.endpoint)
        h.add(name: "Micro-Endpoint", value: request.endpoint)
        // go-micro multiplexes streams on a connection by this value; each of ours has a connection of its own.
        if request.isStream { h.add(name: "Micro-Stream", value: request.id.isEmpty ? "1" : request.id) }
        if let d = request.deadline {
            let now = NIODeadline.now().uptimeNanoseconds
            h.add(name: "Timeout", value: String(d.uptimeNanoseconds > now ? d.uptimeNanoseconds - now : 1))
        }
        for (k, v) in request.metadata where !reserved.contains(k) && isSendableName(k) {
            h.add(name: k, value: sendableValue(v))
        }
        return h
    }

    /// Whether `name` can be sent as a header name (an RFC 9110 token); metadata under other names is
    /// not sent, since SwiftNIO refuses the whole message for one bad header.
    static func isSendableName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(b)
            }
        }
    }

    /// `value` without the control bytes a header value cannot hold (all but HTAB: CR, LF, NUL, ...).
    static func sendableValue(_ value: String) -> String {
        RPCHeaders.removingASCII(from: value) { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }
    }
}
