import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The Kubernetes REST API as the runtime calls it: JSON over HTTP with a bearer token, each answer
/// bounded in size and time, each failure a ``KubernetesError`` carrying the server's `Status` message.
struct KubernetesAPI: Sendable {
    var configuration: KubernetesConfiguration
    var client: HTTPClient

    /// `/apis/apps/v1/namespaces/NS/deployments[/NAME]`.
    func deploymentsPath(_ name: String? = nil) -> String {
        "/apis/apps/v1/namespaces/\(configuration.namespace)/deployments" + (name.map { "/\($0)" } ?? "")
    }

    /// `/api/v1/namespaces/NS/pods[/NAME]`.
    func podsPath(_ name: String? = nil) -> String {
        "/api/v1/namespaces/\(configuration.namespace)/pods" + (name.map { "/\($0)" } ?? "")
    }

    /// `/api/v1/namespaces/NS/services[/NAME]`.
    func servicesPath(_ name: String? = nil) -> String {
        "/api/v1/namespaces/\(configuration.namespace)/services" + (name.map { "/\($0)" } ?? "")
    }

    /// Sends `body` (JSON) with `method` to `path`; decodes a 2xx answer as `T`.
    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Int>.none,
                            contentType: String = "application/json", as type: T.Type) async throws -> T {
        let data = try await send(method, path, body: body.map { try JSONEncoder().encode($0) }, contentType: contentType)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw KubernetesError(.badResponse, "\(method) \(path): the answer is not a \(T.self): \(String(describing: error).prefix(300))")
        }
    }

    /// Sends a request; the body of a 2xx answer, else the error its status and `Status` object say.
    func send(_ method: HTTPMethod, _ path: String, body: Data?, contentType: String = "application/json") async throws -> Data {
        var request = HTTPClientRequest(url: configuration.server + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token = try configuration.currentToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Self.nanoseconds(configuration.requestTimeout)))
            bytes = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw KubernetesError(.badResponse, "\(method) \(path): the answer is larger than \(configuration.maxResponseBytes) bytes")
        } catch {
            throw KubernetesError(.unavailable, "\(method) \(path): \(error)")
        }
        let data = Data(buffer: bytes)
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return data }
        throw Self.error(status: status, body: data, what: "\(method) \(path)")
    }

    /// GETs `path` (a text answer: a pod's log) and hands `onLine` each line of it as it arrives,
    /// lines longer than `maxLineBytes` cut; with `maxBytes`, an answer longer than that is
    /// ``KubernetesError/Code/badResponse``. Without `deadline`, it reads until the server ends the
    /// answer or the caller is cancelled.
    func lines(_ path: String, maxBytes: Int?, maxLineBytes: Int, deadline: Duration?, _ onLine: (String) async throws -> Void) async throws {
        var request = HTTPClientRequest(url: configuration.server + path)
        request.headers.add(name: "Accept", value: "*/*")
        if let token = try configuration.currentToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            let limit: NIODeadline = deadline.map { .now() + .nanoseconds(Self.nanoseconds($0)) } ?? .distantFuture
            response = try await client.execute(request, deadline: limit)
        } catch {
            throw KubernetesError(.unavailable, "GET \(path): \(error)")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let body = (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer()
            throw Self.error(status: status, body: Data(buffer: body), what: "GET \(path)")
        }
        var splitter = LogLineSplitter(maxLineBytes: maxLineBytes)
        var received = 0
        do {
            for try await chunk in response.body {
                received += chunk.readableBytes
                if let maxBytes, received > maxBytes {
                    throw KubernetesError(.badResponse, "GET \(path): the log answer is larger than the \(maxBytes) bytes asked for")
                }
                for line in splitter.append(chunk.readableBytesView) { try await onLine(line) }
            }
        } catch let error as KubernetesError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw KubernetesError(.unavailable, "GET \(path): \(error)")
        }
        if let last = splitter.finish() { try await onLine(last) }
    }

    /// The error an answer with `status` means, with the message of its `Status` object when it has one.
    static func error(status: Int, body: Data, what: String) -> KubernetesError {
        let apiStatus = try? JSONDecoder().decode(APIStatus.self, from: body)
        let message = String((apiStatus?.message ?? String(decoding: body.prefix(500), as: UTF8.self)).prefix(1000))
        let detail = "\(what): \(message)"
        switch status {
        case 401: return KubernetesError(.unauthorized, detail, status: status)
        case 403: return KubernetesError(.forbidden, detail, status: status)
        case 404: return KubernetesError(.notFound, detail, status: status)
        case 409: return KubernetesError(apiStatus?.reason == "AlreadyExists" ? .alreadyExists : .conflict, detail, status: status)
        case 400, 422: return KubernetesError(.invalid, detail, status: status)
        case 500...: return KubernetesError(.unavailable, detail, status: status)
        default: return KubernetesError(.badResponse, detail, status: status)
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
