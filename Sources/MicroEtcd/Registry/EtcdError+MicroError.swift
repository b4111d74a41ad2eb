import EtcdClient
import MicroCore

/// The `MicroError` a registry call that failed with this error answers with.
extension EtcdError: MicroErrorConvertible {
    public var microError: MicroError {
        switch code {
        case .unavailable, .shutdown, .cancelled: return .unavailable("go.micro.registry", description)
        case .timeout: return .timeout("go.micro.registry", description)
        case .leaseNotFound: return .notFound("go.micro.registry", description)
        case .invalidArgument: return .badRequest("go.micro.registry", description)
        case .permissionDenied: return .forbidden("go.micro.registry", description)
        case .resourceExhausted: return .tooLarge("go.micro.registry", description)
        default: return .internalServerError("go.micro.registry", description)
        }
    }
}
