import Foundation
import Hummingbird
import NIOCore

/// The fixture's pods, written from the API documentation of core/v1 Pods and their `log`
/// subresource: each Deployment has `spec.replicas` pods, named after it and its generation (a new
/// generation replaces them, as a rollout does), labelled with its pod template's labels, `Running`.
/// A pod's log starts with the line `pod NAME runs IMAGE`; tests add lines with ``appendLog(_:to:)``.
/// `GET /api/v1/namespaces/NS/pods[?labelSelector=k=v,…]` lists them (PodList); `GET
/// /api/v1/namespaces/NS/pods/NAME/log` answers the log as text/plain: the last `tailLines` lines, at
/// most `limitBytes`, and with `follow=true` new lines as they are added until the pod is gone.
extension KubernetesFixture {
    /// A pod as the fixture derives it from its Deployment.
    struct FixturePod: Sendable {
        var name: String
        var namespace: String
        var deployment: String
        var labels: [String: FixtureJSON]
        var image: String
        var ready: Bool
    }

    /// The longest a followed log stays open.
    static let maxFollow: Duration = .seconds(20)

    /// The pods of every Deployment in `namespace`.
    func pods(in namespace: String) -> [FixturePod] {
        let deployments = state.withLock { $0.objects.filter { $0.key.hasPrefix("deployments/\(namespace)/") }.map(\.value) }
        return deployments.flatMap { stored -> [FixturePod] in
            let object = stored.object
            guard let name = object["metadata", "name"]?.string else { return [] }
            let generation = object["metadata", "generation"]?.int ?? 1
            let replicas = max(0, min(object["spec", "replicas"]?.int ?? 1, 100))
            var labels: [String: FixtureJSON] = [:]
            if case .object(let members)? = object["spec", "template", "metadata", "labels"] { labels = members }
            let hash = String(UInt32(truncatingIfNeeded: generation &* 2_654_435_761), radix: 16)
            return (0..<replicas).map { index in
                FixturePod(name: "\(name)-\(hash)-\(index)", namespace: namespace, deployment: name, labels: labels,
                           image: Self.image(of: object), ready: isReady(stored))
            }
        }.sorted { $0.name < $1.name }
    }

    /// Adds `line` to the log of every pod of Deployment `deployment` (in any namespace).
    func appendLog(_ line: String, to deployment: String) {
        let names = state.withLock { $0.objects.keys.compactMap { $0.hasPrefix("deployments/") ? $0.split(separator: "/").dropFirst().first.map(String.init) : nil } }
        let matching = Set(names).flatMap { self.pods(in: $0) }.filter { $0.deployment == deployment }
        state.withLock { state in
            for pod in matching { state.podLogs[pod.name, default: []].append(line) }
        }
    }

    /// A pod's whole log.
    func log(of pod: FixturePod) -> [String] {
        ["pod \(pod.name) runs \(pod.image)"] + state.withLock { $0.podLogs[pod.name] ?? [] }
    }

    /// The answer to a GET of pods or a pod's log; nil for any other path.
    func podsAnswer(_ request: Request) -> Response? {
        let parts = request.uri.path.split(separator: "/").map(String.init)
        guard parts.count >= 5, parts[0] == "api", parts[1] == "v1", parts[2] == "namespaces", parts[4] == "pods" else { return nil }
        let namespace = parts[3]
        let query = request.uri.queryParameters
        let fault = state.withLock { $0.logFault }
        switch parts.count {
        case 5:
            if fault == .malformedPodList {
                return Self.json(200, .object(["kind": "PodList", "apiVersion": "v1", "items": .array([.object(["metadata": .object(["name": .int(5)])])])]))
            }
            let requirements = (query["labelSelector"].map(String.init) ?? "").split(separator: ",").compactMap { term -> (String, String)? in
                let pair = term.split(separator: "=", maxSplits: 1).map(String.init)
                return pair.count == 2 ? (pair[0], pair[1]) : nil
            }
            let matching = pods(in: namespace).filter { pod in requirements.allSatisfy { pod.labels[$0.0]?.string == $0.1 } }
            let items: [FixtureJSON] = matching.map { pod in
                .object(["metadata": .object(["name": .string(pod.name), "namespace": .string(namespace), "labels": .object(pod.labels)]),
                         "spec": .object(["containers": .array([.object(["name": .string(pod.deployment), "image": .string(pod.image)])])]),
                         "status": .object(["phase": .string("Running"), "conditions": .array([.object(["type": "Ready", "status": .string(pod.ready ? "True" : "False")])])])])
            }
            return Self.json(200, .object(["kind": "PodList", "apiVersion": "v1", "metadata": .object([:]), "items": .array(items)]))
        case 7 where parts[6] == "log":
            guard let pod = pods(in: namespace).first(where: { $0.name == parts[5] }) else {
                return Self.status(404, "NotFound", "pods \"\(parts[5])\" not found", name: parts[5], kind: "pods")
            }
            let tail = query["tailLines"].flatMap { Int(String($0)) }
            let limit = query["limitBytes"].flatMap { Int(String($0)) }
            let follow = query["follow"] == "true"
            return logAnswer(pod, tail: tail, limit: limit, follow: follow, fault: fault)
        default:
            return Self.status(404, "NotFound", "the server could not find the requested resource")
        }
    }

    private func logAnswer(_ pod: FixturePod, tail: Int?, limit: Int?, follow: Bool, fault: LogFault?) -> Response {
        let lines = log(of: pod)
        var text = lines.suffix(max(0, tail ?? lines.count)).map { $0 + "\n" }.joined()
        switch fault {
        case .oversizedLog: text += String(repeating: "x", count: (limit ?? 1000) + 1000) + "\n"
        case .endlessLine: text = String(repeating: "y", count: 100 << 10) + "\nafter the long line\n"
        default: if let limit, text.utf8.count > limit { text = String(decoding: Array(text.utf8.prefix(limit)), as: UTF8.self) }
        }
        let headers: HTTPFields = [.contentType: "text/plain"]
        guard follow else { return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text))) }
        let first = text
        let sent = lines.count
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: first))
            var written = sent
            let deadline = ContinuousClock.now + Self.maxFollow
            while ContinuousClock.now < deadline, !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(50))
                guard self.pods(in: pod.namespace).contains(where: { $0.name == pod.name }) else { break }   // deleted or replaced
                let now = self.log(of: pod)
                if now.count > written {
                    try await writer.write(ByteBuffer(string: now[written...].map { $0 + "\n" }.joined()))
                    written = now.count
                }
            }
            try await writer.finish(nil)
        })
    }
}
