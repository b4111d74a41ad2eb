import Foundation
import MicroAddress
import MicroCore
import MicroTestSupport
@testable import MicroHTTP
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// Every suite of these tests runs inside this one, one test at a time: many of them bound timings
/// (deadlines, idle and read timeouts, fairness) that two shared cores cannot keep with a hundred
/// network tests at once.
@Suite(.serialized) enum HTTPTransportSuite {}

// MARK: - Small shared helpers

/// A value shared between a handler and the test, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>
    init(_ value: Value) { box = NIOLockedValueBox(value) }
    var value: Value { box.withLockedValue { $0 } }
    @discardableResult
    func update<R: Sendable>(_ body: @Sendable (inout Value) -> R) -> R { box.withLockedValue(body) }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
func eventually(within timeout: Duration = .seconds(2), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}

/// How long `body` takes.
func elapsed(_ body: () async throws -> Void) async rethrows -> Duration {
    let start = ContinuousClock.now
    try await body()
    return ContinuousClock.now - start
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

/// What `body` returns or throws.
func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// The error `body` throws (nil if it returns).
func caught(_ body: () async throws -> Void) async -> (any Error)? {
    do { try await body(); return nil } catch { return error }
}

/// The `HTTPServer` behind a listener made by `HTTPServerTransport`.
func httpServer(_ listener: any TransportListener) -> HTTPServer {
    (listener as! HTTPListener).server
}

/// An address nothing listens on (bound once, then closed).
func deadAddress() async throws -> String {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return "127.0.0.1:\(port)"
}

let json = JSONCodec()

func encode<T: Encodable & Sendable>(_ value: T) throws -> ByteBuffer { try json.encode(value) }


/// Stream frames (flag, 4-byte length, payload) cut out of a stream body.
func frames(_ bytes: [UInt8]) -> [(flag: UInt8, payload: String)] {
    var out: [(UInt8, String)] = []
    var i = 0
    while i + 5 <= bytes.count {
        let length = Int(bytes[i + 1]) << 24 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 8 | Int(bytes[i + 4])
        guard i + 5 + length <= bytes.count else { break }
        out.append((bytes[i], String(decoding: bytes[(i + 5)..<(i + 5 + length)], as: UTF8.self)))
        i += 5 + length
    }
    return out
}

/// A frame as the wire carries it.
func frame(_ flag: UInt8, _ payload: [UInt8]) -> [UInt8] {
    let n = UInt32(payload.count)
    return [flag, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload
}

/// One HTTP chunk.
func chunk(_ bytes: [UInt8]) -> [UInt8] {
    Array(String(bytes.count, radix: 16).utf8) + [13, 10] + bytes + [13, 10]
}

// MARK: - A scripted raw HTTP server

/// A request as a ``ScriptedServer`` saw it.
struct RawRequest: Sendable {
    var requestLine: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// The 0-based index of the connection it came on.
    var connection: Int
    /// The 0-based index of the request on its connection.
    var index: Int

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// What a ``ScriptedServer`` does with a request.
enum ScriptAction: Sendable {
    /// Writes these bytes and keeps the connection open.
    case reply([UInt8])
    /// Writes these bytes and closes.
    case replyAndClose([UInt8])
    /// Closes without answering.
    case close
    /// Never answers, and keeps the connection open.
    case ignore
}

/// A raw HTTP/1.1 server whose answers a test scripts byte for byte; it records every request.
/// A chunked (streaming) request is answered once its head arrived; its body is ignored.
final class ScriptedServer: Sendable {
    typealias Script = @Sendable (RawRequest) -> ScriptAction
    typealias Log = NIOLockedValueBox<(requests: [RawRequest], connections: Int)>
    let channel: any Channel
    let address: String
    let log: Log

    var requests: [RawRequest] { log.withLockedValue { $0.requests } }
    var connections: Int { log.withLockedValue { $0.connections } }

    private init(channel: any Channel, address: String, log: Log) {
        self.channel = channel
        self.address = address
        self.log = log
    }

    static func start(_ script: @escaping Script) async throws -> ScriptedServer {
        let log = Log(([], 0))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    let index = log.withLockedValue { l -> Int in l.connections += 1; return l.connections - 1 }
                    try ch.pipeline.syncOperations.addHandler(ScriptedConnection(script: script, log: log, connection: index))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(channel: channel, address: "127.0.0.1:\(channel.localAddress!.port!)", log: log)
    }

    func stop() async {
        try? await channel.close()
    }
}

final class ScriptedConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let script: ScriptedServer.Script
    let log: ScriptedServer.Log
    let connection: Int
    private var buffer: [UInt8] = []
    private var served = 0
    private var streaming = false

    init(script: @escaping ScriptedServer.Script, log: ScriptedServer.Log, connection: Int) {
        self.script = script
        self.log = log
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        if streaming { return }
        buffer += b.readBytes(length: b.readableBytes) ?? []
        while let headEnd = RawResponse.find([13, 10, 13, 10], in: buffer, from: 0) {
            let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst()
            var headers: [(String, String)] = []
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            let chunked = headers.contains { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }
            let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
            var body: [UInt8] = []
            if chunked {
                streaming = true
            } else {
                guard buffer.count >= headEnd + 4 + length else { return }
                body = Array(buffer[(headEnd + 4)..<(headEnd + 4 + length)])
            }
            buffer.removeFirst(chunked ? buffer.count : headEnd + 4 + length)
            let request = RawRequest(requestLine: requestLine, headers: headers.map { (name: $0.0, value: $0.1) }, body: body,
                                     connection: connection, index: served)
            served += 1
            log.withLockedValue { $0.requests.append(request) }
            switch script(request) {
            case .reply(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            case .replyAndClose(let bytes):
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes))).whenComplete { _ in channel.close(promise: nil) }
                return
            case .close:
                context.close(promise: nil)
                return
            case .ignore:
                break
            }
            if streaming { return }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// A whole HTTP response as bytes.
func httpResponse(status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")], body: [UInt8]) -> [UInt8] {
    var text = "HTTP/1.1 \(status) \(MicroError.statusText(Int32(status)).isEmpty ? "Status" : MicroError.statusText(Int32(status)))\r\n"
    for (k, v) in headers { text += "\(k): \(v)\r\n" }
    text += "Content-Length: \(body.count)\r\n\r\n"
    return Array(text.utf8) + body
}

/// The head of a chunked streaming response.
/// One answer of a go-micro stream over HTTP/1.1: a whole `200 OK` response, ending the stream
/// when `error` is set (`EOS` or a MicroError's JSON).
func streamMessage(_ body: String, error: String? = nil) -> [UInt8] {
    var headers: [(String, String)] = [("Content-Type", "application/json"), ("Micro-Stream", "1")]
    if let error { headers.append(("Micro-Error", error)) }
    return httpResponse(headers: headers, body: Array(body.utf8))
}

func streamResponseHead() -> [UInt8] {
    Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMicro-Stream: true\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
}

// MARK: - curl

/// What curl printed, and how it ended.
typealias CurlResult = ChildProcess.Outcome

/// Finds curl on the PATH (or in the usual places).
func curlPath() -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin", "/bin"] {
        let candidate = "\(dir)/curl"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs curl with `arguments`; records an issue (the test fails) when curl is missing.
func curl(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CurlResult? {
    guard let path = curlPath() else {
        if ProcessInfo.processInfo.environment["CI"] != nil {
            Issue.record("curl is required on CI (scripts/test installs it)", sourceLocation: sourceLocation)
        } else {
            Issue.record("curl is not installed: install it (scripts/test does) to run the interop tests", sourceLocation: sourceLocation)
        }
        return nil
    }
    return try await ChildProcess.outcome(path, ["--max-time", "5"] + arguments, timeout: .seconds(30))
}

/// The headers of a JSON mucp call to `endpoint` with a body of `length` bytes, for requests written part by part.
func mucpCallHeaders(_ endpoint: String, length: Int) -> HTTPHeaders {
    var headers = HTTPHeaders()
    headers.add(name: "Host", value: "a")
    headers.add(name: "Micro-Endpoint", value: endpoint)
    headers.add(name: "Content-Type", value: "application/json")
    headers.add(name: "Content-Length", value: String(length))
    return headers
}
