import MicroCore
import NIOCore
import NIOHTTP1

/// go-micro v2's stream over an HTTP/1.1 connection: the server takes the connection over, and every
/// message either way is then a whole HTTP/1.1 message with a `Content-Length` — requests from the
/// caller, `200 OK` responses from the handler. `Micro-Stream` names the stream; the caller's first
/// message opens it (its body is not a message); `Micro-Error: EOS` with an empty body ends one
/// direction; any other `Micro-Error` ends the stream with that error.
enum MucpStreamWire {
    /// The `Micro-Error` value that ends a direction cleanly.
    static let endOfStream = "EOS"

    /// Request headers that belong to one HTTP message, not to the call (never echoed or repeated).
    static let hopByHop: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "trailer", "te", "upgrade"]

    /// The headers a go-micro server answers with: the request's own headers echoed, less those of
    /// the HTTP message itself (Go's `net/http` drops `Host` and writes its own `Content-Length`).
    static func echo(_ request: HTTPHeaders) -> HTTPHeaders {
        var out = HTTPHeaders()
        out.reserveCapacity(request.count + 2)
        for (name, value) in request where !hopByHop.contains(name.lowercased()) {
            out.add(name: name, value: value)
        }
        return out
    }

    /// True when the request names its endpoint in go-micro's headers (`Micro-Service`,
    /// `Micro-Endpoint` or `Micro-Method`, or their `X-` forms): every go-micro and Swift Micro
    /// client does, while plain HTTP callers route by path (`POST /Service/Method`).
    static func isMucpCall(_ headers: HTTPHeaders) -> Bool {
        for (name, _) in headers {
            switch name.lowercased() {
            case "micro-service", "micro-endpoint", "micro-method", "x-micro-service", "x-micro-endpoint", "x-micro-method":
                return true
            default:
                continue
            }
        }
        return false
    }

    /// The stream's identifier (`Micro-Stream`, or its `X-` form), nil when the message has none.
    static func streamID(_ headers: HTTPHeaders) -> String? {
        headers.first(name: "Micro-Stream") ?? headers.first(name: "X-Micro-Stream")
    }

    /// The message's `Micro-Error` (or its `X-` form), nil when it has none or an empty one.
    static func error(_ headers: HTTPHeaders) -> String? {
        guard let e = headers.first(name: "Micro-Error") ?? headers.first(name: "X-Micro-Error"), !e.isEmpty else { return nil }
        return e
    }

    /// A whole message's head: `headers` plus its `Content-Length` (and `Micro-Error`, for an end).
    static func headers(_ base: HTTPHeaders, length: Int, error: String? = nil) -> HTTPHeaders {
        var h = base
        if let error {
            // go-micro writes both forms (peers before v2 read the `X-` one).
            h.replaceOrAdd(name: "Micro-Error", value: error)
            h.replaceOrAdd(name: "X-Micro-Error", value: error)
        }
        h.add(name: "Content-Length", value: String(length))
        return h
    }
}
