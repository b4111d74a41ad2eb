import HTTPTypes
import MicroCore

/// Server-Sent Events framing (`text/event-stream`): what the gateway streams and the dashboard pushes.
enum ServerSentEvent {
    /// The headers of an event stream: never cached, not buffered by proxies.
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store",
                                      .init("X-Accel-Buffering")!: "no"]

    /// One event: an optional `event:` name, then each line of `data` as its own `data:` line.
    /// Carriage returns and newlines in the name are dropped, so nothing can forge another field.
    static func format(event: String? = nil, data: String) -> String {
        var out = ""
        if let event { out += "event: " + String(String.UnicodeScalarView(event.unicodeScalars.filter { $0 != "\n" && $0 != "\r" })) + "\n" }
        var data = Substring(data)
        // A message's own trailing newline (go-micro's JSON codec ends bodies with one) is not an empty data line.
        while let last = data.last, last == "\n" || last == "\r" || last == "\r\n" { data.removeLast() }
        // Any line break (LF, CR or CRLF) starts a new data line, so no message can forge another field.
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            out += "data: " + line + "\n"
        }
        return out + "\n"
    }

    /// A comment line that keeps an idle stream open through proxies.
    static let keepAlive = ": keep-alive\n\n"

    /// Whether an error came from writing to a caller that went away (then nothing more can be sent).
    static func isWriteFailure(_ error: any Error) -> Bool {
        !(error is MicroError) && !(error is TransportError)
    }
}
