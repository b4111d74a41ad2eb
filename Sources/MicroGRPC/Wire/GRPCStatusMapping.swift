import Foundation
import GRPCCore
import MicroCore
import SwiftProtobuf

/// How a `MicroError` crosses gRPC and comes back: WIRE.md's code table, with the error itself
/// carried as go-micro carries it — the status message is the error's JSON and
/// `grpc-status-details-bin` holds a `google.rpc.Status` whose first detail is go-micro's
/// `errors.Error` — so a Swift or Go caller gets the same MicroError back, id and all.
package enum GRPCStatusMapping {
    /// The trailer that carries the status details.
    package static let detailsKey = "grpc-status-details-bin"
    /// The type URL of go-micro's error detail.
    package static let errorTypeURL = "type.googleapis.com/errors.Error"

    /// The gRPC code for a MicroError (WIRE.md's table; 413/429 resource exhausted, 499 cancelled,
    /// 504 deadline exceeded; anything else unknown, as go-micro answers).
    package static func code(for error: MicroError) -> RPCError.Code {
        switch error.code {
        case 400: return .invalidArgument
        case 401: return .unauthenticated
        case 403: return .permissionDenied
        case 404: return .notFound
        case 408: return .deadlineExceeded
        case 409: return .alreadyExists
        case 412: return .failedPrecondition
        case 500: return .internalError
        case 501: return .unimplemented
        case 503: return .unavailable
        case 413, 429: return .resourceExhausted
        case 499: return .cancelled
        case 504: return .deadlineExceeded
        default: return .unknown
        }
    }

    /// The MicroError code for a gRPC code that came without a MicroError (the table read backwards).
    package static func microCode(for code: RPCError.Code) -> Int32 {
        switch code {
        case .invalidArgument, .outOfRange: return 400
        case .unauthenticated: return 401
        case .permissionDenied: return 403
        case .notFound: return 404
        case .deadlineExceeded: return 408
        case .alreadyExists, .aborted: return 409
        case .failedPrecondition: return 412
        case .resourceExhausted: return 413
        case .cancelled: return 499
        case .unimplemented: return 501
        case .unavailable: return 503
        default: return 500
        }
    }

    /// The status and trailers that answer a failed call.
    package static func status(for error: MicroError) -> (Status, GRPCCore.Metadata) {
        status(for: error, code: code(for: error), message: error.json)
    }

    /// A status with an explicit code and message that still carries `error` as its detail.
    static func status(for error: MicroError, code: RPCError.Code, message: String, metadata: GRPCCore.Metadata = [:]) -> (Status, GRPCCore.Metadata) {
        var trailers = metadata
        trailers.removeAllValues(forKey: detailsKey)
        trailers.addBinary(details(for: error, code: code, message: message), forKey: detailsKey)
        return (Status(code: Status.Code(code), message: message), trailers)
    }

    /// A serialized `google.rpc.Status` with go-micro's `errors.Error` as its one detail.
    static func details(for error: MicroError, code: RPCError.Code, message: String) -> [UInt8] {
        var detail = Errors_Error()
        detail.id = error.id
        detail.code = error.code
        detail.detail = error.detail
        detail.status = error.status
        var any = Google_Protobuf_Any()
        any.typeURL = errorTypeURL
        any.value = (try? detail.serializedData()) ?? Data()
        var status = Google_Rpc_Status()
        status.code = Int32(code.rawValue)
        status.message = message
        status.details = [any]
        return (try? status.serializedBytes()) ?? []
    }

    /// The MicroError a failed status stands for: go-micro's detail when there is one, the
    /// message when it is a MicroError's JSON, else one made from the code (`id` names the caller).
    package static func microError(status: Status, trailers: GRPCCore.Metadata, id: String = "go.micro.client") -> MicroError {
        for bytes in trailers[binaryValues: detailsKey] {
            if let decoded = try? Google_Rpc_Status(serializedBytes: bytes) {
                for any in decoded.details where any.typeURL.hasSuffix("/errors.Error") {
                    if let e = try? Errors_Error(serializedBytes: Array(any.value)), e.code != 0 || !e.detail.isEmpty {
                        return MicroError(id: e.id, code: e.code, detail: e.detail, status: e.status.isEmpty ? nil : e.status)
                    }
                }
            }
        }
        if status.message.hasPrefix("{") {
            let parsed = MicroError.parse(status.message)
            if parsed.code != 0, parsed.detail != status.message { return parsed }
        }
        let code = RPCError.Code(status.code) ?? .unknown
        return MicroError(id: id, code: microCode(for: code), detail: status.message.isEmpty ? "\(status.code)" : status.message)
    }
}
