import Foundation

/// Which browser origins may call the gateway (CORS): none (the default), all, or a list.
public struct CORSPolicy: Sendable, Hashable {
    enum Origins: Sendable, Hashable {
        case none
        case all
        case list(Set<String>)
    }

    let origins: Origins
    /// How long a browser may cache a preflight answer, in seconds.
    public var maxAge: Int = 600

    /// No cross-origin calls: no CORS headers are sent.
    public static let none = CORSPolicy(origins: .none)
    /// Any origin (`Access-Control-Allow-Origin: *`); credentials are then not allowed by browsers.
    public static let all = CORSPolicy(origins: .all)
    /// These origins exactly (`https://app.example.com`), echoed back when they call.
    public static func allowing(_ origins: [String]) -> CORSPolicy { CORSPolicy(origins: .list(Set(origins))) }

    /// Parses `--cors`: empty or `none`, `*`, or comma-separated origins.
    public static func parse(_ text: String) -> CORSPolicy {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if items.isEmpty || items == ["none"] { return .none }
        if items.contains("*") { return .all }
        return .allowing(items)
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`; nil: send no CORS headers.
    func allowedOrigin(_ origin: String?) -> String? {
        switch origins {
        case .none: return nil
        case .all: return "*"
        case .list(let allowed):
            guard let origin, allowed.contains(origin) else { return nil }
            return origin
        }
    }

    /// Whether a WebSocket may be opened from `origin` to the gateway at `host`. Browsers send the
    /// page's origin (`http(s)://...`, or `null`) and no preflight: such an origin must be the gateway's
    /// own or one this policy lets call, as for any other request. No origin, or one no web page has
    /// (`ws://host`, as some WebSocket clients send), is not a browser's and may connect.
    func allowsWebSocket(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        let page = origin.lowercased()
        guard page.hasPrefix("http://") || page.hasPrefix("https://") || page == "null" else { return true }
        if let host = host?.lowercased(), page == "http://" + host || page == "https://" + host { return true }
        return allowedOrigin(origin) != nil
    }

    /// The headers for an answer to `origin` (with `preflight`, the methods, headers and max age too).
    func headers(origin: String?, preflight: Bool, requestedHeaders: String?) -> [(String, String)] {
        guard let allowed = allowedOrigin(origin) else { return [] }
        var headers = [("Access-Control-Allow-Origin", allowed)]
        if case .list = origins { headers.append(("Vary", "Origin")) }
        if preflight {
            headers.append(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
            headers.append(("Access-Control-Allow-Headers", Self.sanitized(requestedHeaders) ?? "Content-Type, Authorization"))
            headers.append(("Access-Control-Max-Age", String(maxAge)))
        } else {
            headers.append(("Access-Control-Expose-Headers", "Content-Type"))
        }
        return headers
    }

    /// The requested header names, when they are plain tokens (bounded): anything else is not echoed.
    static func sanitized(_ requested: String?) -> String? {
        guard let requested, requested.utf8.count <= 1024 else { return nil }
        let ok = requested.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_" || c == "," || c == " "
        }
        return ok && !requested.isEmpty ? requested : nil
    }
}
