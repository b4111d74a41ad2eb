import ConsulClient
import MicroCore

/// The `MicroError` a registry call that failed with this error answers with.
extension ConsulError: MicroErrorConvertible {
    public var microError: MicroError {
        switch code {
        case .unavailable, .shutdown, .cancelled, .rateLimited: return .unavailable("go.micro.registry", description)
        case .timeout: return .timeout("go.micro.registry", description)
        case .notFound: return .notFound("go.micro.registry", description)
        case .invalidArgument, .badRequest: return .badRequest("go.micro.registry", description)
        case .permissionDenied: return .forbidden("go.micro.registry", description)
        case .responseTooLarge: return .tooLarge("go.micro.registry", description)
        default: return .internalServerError("go.micro.registry", description)
        }
    }
}
