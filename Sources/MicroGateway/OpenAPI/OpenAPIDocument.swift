import Foundation
import MicroCore

/// An OpenAPI 3 document for the gateway, generated from the registry's records: one `POST` path per
/// endpoint (the path go-micro's gateway maps to it), its request and response schemas from the
/// endpoint's shapes, go-micro's error as the default answer, and `/rpc`.
public enum OpenAPIDocument {
    /// At most this many paths are described (a registry is untrusted input too).
    static let maxPaths = 2000

    /// The document as JSON (sorted keys).
    public static func json(for services: [ServiceRecord], namespace: String = "", title: String = "Swift Micro API") -> Data {
        let document = make(for: services, namespace: namespace, title: title)
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    static func make(for services: [ServiceRecord], namespace: String, title: String) -> [String: Any] {
        var paths: [String: Any] = [:]
        var seen = Set<String>()
        for record in services.sorted(by: { ($0.name, $0.version) < ($1.name, $1.version) }) {
            for endpoint in record.endpoints {
                guard paths.count < maxPaths, let path = path(service: record.name, endpoint: endpoint.name, namespace: namespace),
                      seen.insert(path).inserted else { continue }
                paths[path] = ["post": operation(record: record, endpoint: endpoint)]
            }
        }
        paths["/rpc"] = ["post": [
            "operationId": "rpc",
            "summary": "Call any endpoint of any service",
            "requestBody": ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/RPCRequest"]]]],
            "responses": ["200": ["description": "The endpoint's reply", "content": ["application/json": ["schema": ["type": "object"]]]],
                          "default": errorResponse],
        ] as [String: Any]]
        return [
            "openapi": "3.0.3",
            "info": ["title": title, "version": "1.0.0"],
            "paths": paths,
            "components": ["schemas": [
                "MicroError": ["type": "object", "properties": [
                    "id": ["type": "string"], "code": ["type": "integer", "format": "int32"],
                    "detail": ["type": "string"], "status": ["type": "string"],
                ]],
                "RPCRequest": ["type": "object", "required": ["service", "endpoint"], "properties": [
                    "service": ["type": "string"], "endpoint": ["type": "string"], "request": ["type": "object"],
                ]],
            ] as [String: Any]],
        ]
    }

    static var errorResponse: [String: Any] { [
        "description": "go-micro's error; the HTTP status is its code",
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/MicroError"]]],
    ] }

    /// The gateway path that resolves to `service` `endpoint`, or nil when none does (then only `/rpc` reaches it).
    static func path(service: String, endpoint: String, namespace: String) -> String? {
        var name = service
        if !namespace.isEmpty {
            guard name.hasPrefix(namespace + ".") else { return nil }
            name.removeFirst(namespace.count + 1)
        }
        let methodParts = endpoint.split(separator: ".", omittingEmptySubsequences: false)
        guard methodParts.count == 2 else { return nil }
        let path = "/" + (name.split(separator: ".", omittingEmptySubsequences: false) + methodParts).joined(separator: "/")
        guard APIRoute.resolve(path: path, namespace: namespace) == APIRoute(service: service, endpoint: endpoint) else { return nil }
        return path
    }

    static func operation(record: ServiceRecord, endpoint: Endpoint) -> [String: Any] {
        var op: [String: Any] = [
            "operationId": "\(record.name).\(endpoint.name)",
            "summary": "\(record.name) \(endpoint.name)",
            "tags": [record.name],
            "responses": [
                "200": ["description": "The reply", "content": ["application/json": ["schema": schema(endpoint.response)]]],
                "default": errorResponse,
            ] as [String: Any],
        ]
        op["requestBody"] = ["required": true, "content": ["application/json": ["schema": schema(endpoint.request)]]]
        if endpoint.metadata["stream"] == "true" {
            op["description"] = "A stream: send `Accept: text/event-stream` to receive each message as a Server-Sent Event."
        }
        return op
    }

    /// A JSON schema for a registry value tree (depth-bounded).
    static func schema(_ value: Value?, depth: Int = 0) -> [String: Any] {
        guard let value else { return ["type": "object"] }
        switch value.type {
        case "string": return ["type": "string"]
        case "bool": return ["type": "boolean"]
        case "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "int", "uint":
            return ["type": "integer", "format": value.type.hasSuffix("32") ? "int32" : "int64"]
        case "float32", "float": return ["type": "number", "format": "float"]
        case "float64", "double": return ["type": "number", "format": "double"]
        case "bytes": return ["type": "string", "format": "byte"]
        default: break
        }
        var object: [String: Any] = ["type": "object", "title": value.type]
        guard depth < 8, !value.values.isEmpty else { return object }
        var properties: [String: Any] = [:]
        for field in value.values.prefix(256) { properties[field.name] = schema(field, depth: depth + 1) }
        object["properties"] = properties
        return object
    }
}
