import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import Synchronization

/// A fixture Kubernetes API server, written from the API documentation for the calls the runtime
/// makes (no cluster runs here): apps/v1 Deployments and v1 Services in namespaces, created (POST,
/// 201; 409 `AlreadyExists`), read (GET an object or a list with an equality `labelSelector`),
/// replaced (PUT; 409 `Conflict` when the body's `resourceVersion` is stale), patched (PATCH with
/// `application/merge-patch+json`, RFC 7386; a `resourceVersion` in the patch is a precondition;
/// 415 for other patch types; 422 for a changed selector, which is immutable) and deleted (200
/// `Status` Success; 404 `NotFound`). A bearer token is required (401). Every write bumps the
/// object's `resourceVersion`; a change of `spec` bumps a Deployment's `generation`, and its status
/// plays the deployment controller: the new generation is observed at once and the pods are ready
/// `readyAfter` later (never, for an image containing `never-ready`). Each Deployment's pods are listed
/// (`GET …/pods?labelSelector=`) and their logs read (`GET …/pods/NAME/log` with `tailLines`,
/// `limitBytes`, `follow`): see KubernetesFixture+Pods.swift.
final class KubernetesFixture: HTTPResponder, Sendable {
    typealias Context = BasicRequestContext

    struct Stored: Sendable {
        var object: FixtureJSON
        var changedAt: ContinuousClock.Instant
    }

    struct State: Sendable {
        var objects: [String: Stored] = [:]   // "deployments/NS/NAME", "services/NS/NAME"
        var revision: Int64 = 100
        var requests: [String] = []
        /// The next PATCH finds its object changed by another writer first.
        var conflictOnNextPatch = false
        /// Answer every request with this (status, body) instead.
        var brokenAnswer: (Int, String)?
        /// Methods refused with 403 Forbidden (a token whose role does not allow them).
        var forbidden: Set<String> = []
        /// Lines written to each pod's log after its first (by pod name).
        var podLogs: [String: [String]] = [:]
        /// How pod and log answers are broken, if they are.
        var logFault: LogFault?
    }

    /// Broken pod and log answers.
    enum LogFault: Sendable {
        /// The pod list is JSON of the wrong shape.
        case malformedPodList
        /// A log answer longer than the `limitBytes` asked for.
        case oversizedLog
        /// A log answer whose first line is 100 KiB long.
        case endlessLine
    }

    let token: String
    /// Requests without an `Authorization` header are served too (kubectl sends no token to a plain-HTTP server).
    let anonymous: Bool
    let readyAfter: Duration
    let state = Mutex(State())
    /// Deployments changed since then never become ready (a rollout whose pods do not start); apart
    /// from ``state``, as readiness is computed while it is held.
    let stalledSince = Mutex<ContinuousClock.Instant?>(nil)

    init(token: String, anonymous: Bool = false, readyAfter: Duration = .milliseconds(300)) {
        self.token = token
        self.anonymous = anonymous
        self.readyAfter = readyAfter
    }

    /// Runs the fixture on 127.0.0.1 (a free port) while `body` runs with its URL (`https://…` with `tls`).
    static func with<T: Sendable>(token: String = "fixture-token", anonymous: Bool = false, readyAfter: Duration = .milliseconds(300),
                                  tls: TLSConfiguration? = nil,
                                  _ body: @Sendable (KubernetesFixture, String) async throws -> T) async throws -> T {
        let fixture = KubernetesFixture(token: token, anonymous: anonymous, readyAfter: readyAfter)
        var logger = Logger(label: "kubernetes-fixture")
        logger.logLevel = .critical   // not its start, nor the cancelled connections at its end
        let (urls, urlContinuation) = AsyncStream.makeStream(of: String.self)
        let scheme = tls == nil ? "http" : "https"
        let app = Application(responder: fixture, server: try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in urlContinuation.yield("\(scheme)://127.0.0.1:\(channel.localAddress?.port ?? 0)") },
                              logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            var iterator = urls.makeAsyncIterator()
            guard let url = await iterator.next() else { throw CancellationError() }
            return try await body(fixture, url)
        }
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let method = request.method.rawValue
        state.withLock { $0.requests.append("\(method) \(request.uri.path)") }
        if let (status, body) = state.withLock({ $0.brokenAnswer }) {
            return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        guard request.headers[.authorization] == "Bearer \(token)" || (anonymous && request.headers[.authorization] == nil) else {
            return Self.status(401, "Unauthorized", "Unauthorized")
        }
        if state.withLock({ $0.forbidden.contains(method) }) {
            return Self.status(403, "Forbidden", "\(request.uri.path) is forbidden: User \"system:serviceaccount:micro:runtime\" cannot \(method.lowercased()) it")
        }
        if request.method == .get, let answer = podsAnswer(request) { return answer }
        if request.method == .get, let discovery = Self.discovery(request.uri.path) { return Self.json(200, discovery) }
        guard let route = Route(path: request.uri.path) else {
            return Self.status(404, "NotFound", "the server could not find the requested resource")
        }
        let body = try await request.body.collect(upTo: 1 << 20)
        let json: FixtureJSON? = body.readableBytes == 0 ? nil : try? JSONDecoder().decode(FixtureJSON.self, from: Data(buffer: body))
        if body.readableBytes > 0, json == nil, request.method != .delete {
            return Self.status(400, "BadRequest", "the body is not JSON")
        }
        switch (request.method, route.name) {
        case (.post, nil): return create(route, json)
        case (.get, nil): return list(route, selector: request.uri.queryParameters["labelSelector"].map(String.init))
        case (.get, let name?): return get(route, name)
        case (.put, let name?): return replace(route, name, json)
        case (.patch, let name?):
            guard request.headers[.contentType] == "application/merge-patch+json" else {
                return Self.status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
            }
            return patch(route, name, json)
        case (.delete, let name?): return delete(route, name)
        default: return Self.status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        }
    }

    // MARK: Verbs

    private func create(_ route: Route, _ json: FixtureJSON?) -> Response {
        guard var object = json, object["kind"]?.string == route.kind else {
            return Self.status(400, "BadRequest", "the body is not a \(route.kind)")
        }
        guard let name = object["metadata", "name"]?.string, Self.isDNSLabel(name) else {
            return Self.status(422, "Invalid", "\(route.kind) \"\(object["metadata", "name"]?.string ?? "")\" is invalid: metadata.name: Invalid value")
        }
        if route.kind == "Deployment", object["spec", "selector", "matchLabels"] == nil {
            return Self.status(422, "Invalid", "Deployment.apps \"\(name)\" is invalid: spec.selector: Required value")
        }
        return state.withLock { state -> Response in
            let key = route.key(name)
            guard state.objects[key] == nil else {
                return Self.status(409, "AlreadyExists", "\(route.resource).\(route.group) \"\(name)\" already exists", name: name, kind: route.resource)
            }
            state.revision += 1
            object["metadata", "namespace"] = .string(route.namespace)
            object["metadata", "uid"] = .string(UUID().uuidString.lowercased())
            object["metadata", "resourceVersion"] = .string(String(state.revision))
            object["metadata", "creationTimestamp"] = .string(ISO8601DateFormatter().string(from: Date()))
            if route.kind == "Deployment" { object["metadata", "generation"] = .int(1) }
            object["status"] = route.kind == "Deployment" ? .object([:]) : object["status"]
            state.objects[key] = Stored(object: object, changedAt: .now)
            return Self.json(201, withStatus(state.objects[key]!))
        }
    }

    private func get(_ route: Route, _ name: String) -> Response {
        guard let stored = state.withLock({ $0.objects[route.key(name)] }) else { return Self.notFound(route, name) }
        return Self.json(200, withStatus(stored))
    }

    private func list(_ route: Route, selector: String?) -> Response {
        let requirements = (selector ?? "").split(separator: ",").compactMap { term -> (String, String)? in
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        let (items, revision) = state.withLock { state in
            (state.objects.filter { $0.key.hasPrefix(route.key("")) }.sorted { $0.key < $1.key }.map(\.value), state.revision)
        }
        let matching = items.filter { stored in requirements.allSatisfy { stored.object["metadata", "labels", $0.0]?.string == $0.1 } }
        return Self.json(200, .object([
            "kind": .string(route.kind + "List"), "apiVersion": .string(route.apiVersion),
            "metadata": .object(["resourceVersion": .string(String(revision))]), "items": .array(matching.map(withStatus)),
        ]))
    }

    private func replace(_ route: Route, _ name: String, _ json: FixtureJSON?) -> Response {
        guard let replacement = json, replacement["kind"]?.string == route.kind, replacement["metadata", "name"]?.string == name else {
            return Self.status(400, "BadRequest", "the body is not this \(route.kind)")
        }
        return write(route, name, precondition: replacement["metadata", "resourceVersion"]?.string) { current in
            var next = current
            next["spec"] = replacement["spec"]
            next["metadata", "labels"] = replacement["metadata", "labels"]
            next["metadata", "annotations"] = replacement["metadata", "annotations"]
            return next
        }
    }

    private func patch(_ route: Route, _ name: String, _ json: FixtureJSON?) -> Response {
        guard let patch = json, case .object = patch else { return Self.status(400, "BadRequest", "a merge patch is a JSON object") }
        let interfere = state.withLock { state -> Bool in
            defer { state.conflictOnNextPatch = false }
            return state.conflictOnNextPatch
        }
        if interfere {   // another writer got there first (a scaler, a person with kubectl)
            _ = write(route, name, precondition: nil) { current in
                var next = current
                next["metadata", "annotations", "fixture/other-writer"] = .string("yes")
                return next
            }
        }
        return write(route, name, precondition: patch["metadata", "resourceVersion"]?.string) { current in
            var next = current.merged(with: patch)
            next["metadata", "resourceVersion"] = current["metadata", "resourceVersion"]
            return next
        }
    }

    private func delete(_ route: Route, _ name: String) -> Response {
        let removed = state.withLock { $0.objects.removeValue(forKey: route.key(name)) }
        guard removed != nil else { return Self.notFound(route, name) }
        return Self.json(200, .object(["kind": "Status", "apiVersion": "v1", "status": "Success",
                                       "details": .object(["name": .string(name), "kind": .string(route.resource)])]))
    }

    /// Changes an object with `change` unless `precondition` names another `resourceVersion`.
    private func write(_ route: Route, _ name: String, precondition: String?, _ change: (FixtureJSON) -> FixtureJSON) -> Response {
        state.withLock { state -> Response in
            let key = route.key(name)
            guard let stored = state.objects[key] else { return Self.notFound(route, name) }
            let current = stored.object
            if let precondition, precondition != current["metadata", "resourceVersion"]?.string {
                return Self.status(409, "Conflict", "Operation cannot be fulfilled on \(route.resource).\(route.group) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again", name: name, kind: route.resource)
            }
            var next = change(current)
            if route.kind == "Deployment", next["spec", "selector"] != current["spec", "selector"] {
                return Self.status(422, "Invalid", "Deployment.apps \"\(name)\" is invalid: spec.selector: Invalid value: field is immutable")
            }
            state.revision += 1
            next["metadata", "resourceVersion"] = .string(String(state.revision))
            var changedAt = stored.changedAt
            if next["spec"] != current["spec"] {
                changedAt = .now
                if route.kind == "Deployment" { next["metadata", "generation"] = .int((current["metadata", "generation"]?.int ?? 1) + 1) }
            }
            state.objects[key] = Stored(object: next, changedAt: changedAt)
            return Self.json(200, withStatus(state.objects[key]!))
        }
    }

    /// A Deployment with the status its controller would report by now.
    func withStatus(_ stored: Stored) -> FixtureJSON {
        var object = stored.object
        guard object["kind"]?.string == "Deployment" else { return object }
        let replicas = object["spec", "replicas"]?.int ?? 1
        let ready = isReady(stored)
        object["status"] = .object([
            "observedGeneration": object["metadata", "generation"] ?? .int(1), "replicas": .int(replicas), "updatedReplicas": .int(replicas),
            "readyReplicas": .int(ready ? replicas : 0), "availableReplicas": .int(ready ? replicas : 0),
        ])
        return object
    }

    /// Whether a Deployment's pods are ready by now.
    func isReady(_ stored: Stored) -> Bool {
        if let stalled = stalledSince.withLock({ $0 }), stored.changedAt >= stalled { return false }
        return !Self.image(of: stored.object).contains("never-ready") && ContinuousClock.now - stored.changedAt >= readyAfter
    }

    /// The image of a Deployment's first container.
    static func image(of deployment: FixtureJSON) -> String {
        deployment["spec", "template", "spec", "containers"].flatMap { if case .array(let c) = $0 { c.first } else { nil } }?["image"]?.string ?? ""
    }

    // MARK: Answers

    /// The legacy discovery documents `kubectl` reads first (`/api`, `/apis`, and the resource lists
    /// of `v1` and `apps/v1`), naming only what the fixture serves.
    static func discovery(_ path: String) -> FixtureJSON? {
        func resource(_ name: String, _ singular: String, _ kind: String, _ short: String) -> FixtureJSON {
            .object(["name": .string(name), "singularName": .string(singular), "namespaced": .bool(true), "kind": .string(kind),
                     "verbs": .array(["create", "delete", "get", "list", "patch", "update"]), "shortNames": .array([.string(short)])])
        }
        switch path {
        case "/api":
            return .object(["kind": "APIVersions", "versions": .array(["v1"]),
                            "serverAddressByClientCIDRs": .array([.object(["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"])])])
        case "/apis":
            let version: FixtureJSON = .object(["groupVersion": "apps/v1", "version": "v1"])
            return .object(["kind": "APIGroupList", "apiVersion": "v1",
                            "groups": .array([.object(["name": "apps", "versions": .array([version]), "preferredVersion": version])])])
        case "/api/v1":
            return .object(["kind": "APIResourceList", "groupVersion": "v1", "resources": .array([resource("services", "service", "Service", "svc")])])
        case "/apis/apps/v1":
            return .object(["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
                            "resources": .array([resource("deployments", "deployment", "Deployment", "deploy")])])
        default:
            return nil
        }
    }

    struct Route {
        var group: String
        var apiVersion: String
        var namespace: String
        var resource: String
        var kind: String
        var name: String?

        /// `/apis/apps/v1/namespaces/NS/deployments[/NAME]` or `/api/v1/namespaces/NS/services[/NAME]`.
        init?(path: String) {
            let parts = path.split(separator: "/").map(String.init)
            switch parts.prefix(3) {
            case ["apis", "apps", "v1"] where parts.count >= 6 && parts[3] == "namespaces" && parts[5] == "deployments":
                (group, apiVersion, namespace, resource, kind) = ("apps", "apps/v1", parts[4], "deployments", "Deployment")
                name = parts.count == 7 ? parts[6] : nil
            case ["api", "v1", "namespaces"] where parts.count >= 5 && parts[4] == "services":
                (group, apiVersion, namespace, resource, kind) = ("", "v1", parts[3], "services", "Service")
                name = parts.count == 6 ? parts[5] : nil
                if parts.count > 6 { return nil }
                return
            default: return nil
            }
            if parts.count > 7 { return nil }
        }

        func key(_ name: String) -> String { "\(resource)/\(namespace)/\(name)" }
    }

    static func isDNSLabel(_ name: String) -> Bool {
        guard (1...63).contains(name.utf8.count), name.first?.isLetter == true || name.first?.isNumber == true, name.last != "-" else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    private static func notFound(_ route: Route, _ name: String) -> Response {
        status(404, "NotFound", "\(route.resource)\(route.group.isEmpty ? "" : ".\(route.group)") \"\(name)\" not found", name: name, kind: route.resource)
    }

    /// A `Status` failure answer, as the API server sends one.
    static func status(_ code: Int, _ reason: String, _ message: String, name: String? = nil, kind: String? = nil) -> Response {
        var details: [String: FixtureJSON] = [:]
        if let name { details["name"] = .string(name) }
        if let kind { details["kind"] = .string(kind) }
        return json(code, .object(["kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Failure",
                                   "message": .string(message), "reason": .string(reason), "details": .object(details), "code": .int(Int64(code))]))
    }

    static func json(_ code: Int, _ value: FixtureJSON) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: .init(code: code), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension FixtureJSON: ExpressibleByStringLiteral {
    init(stringLiteral value: String) { self = .string(value) }
}
