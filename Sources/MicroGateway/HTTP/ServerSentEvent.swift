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
        if let event { out += "event: " + event.filter { $0 != "\n" && $0 != "\r" } + "\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            out += "data: " + line.filter { $0 != "\r" } + "\n"
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
