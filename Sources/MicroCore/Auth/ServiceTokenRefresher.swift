import Foundation
import Logging
import ServiceLifecycle

/// Obtains a service's own token at start (go-micro's `MICRO_AUTH_ID` / `MICRO_AUTH_SECRET`) and
/// refreshes it before it expires, keeping ``ServiceCredentials`` current: a lifecycle `Service` that
/// runs until graceful shutdown.
///
/// It refreshes when three quarters of the token's life have passed; a refresh that fails falls back
/// to the id and secret, and a failure of both is retried with backoff (1 s doubling to 30 s) while the
/// old token is kept until its expiry. Neither the secret nor any token is ever logged.
public struct ServiceTokenRefresher: Service {
    private let auth: any Auth
    private let id: String
    private let secret: String
    private let credentials: ServiceCredentials
    private let logger: Logger

    /// A refresher signing in as account `id` with `secret`, into `credentials`.
    public init(auth: any Auth, id: String, secret: String, credentials: ServiceCredentials,
                logger: Logger = Logger(label: "micro.auth")) {
        self.auth = auth
        self.id = id
        self.secret = secret
        self.credentials = credentials
        self.logger = logger
    }

    /// Signs in once now (the first token, before the service takes calls); throws what the auth throws.
    public func signIn() async throws {
        credentials.update(try await auth.token(.credentials(id: id, secret: secret)))
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        var failures = 0
        while !Task.isCancelled {
            let wait: Duration
            if let token = credentials.token {
                let life = token.expiry.timeIntervalSince(token.created)
                let refreshAt = token.created.addingTimeInterval(life * 0.75)
                wait = .milliseconds(Int64(max(0, refreshAt.timeIntervalSinceNow) * 1000))
            } else {
                wait = .zero
            }
            if failures > 0 {
                try await Task.sleep(for: .seconds(min(30, 1 << min(failures - 1, 5))))
            } else if wait > .zero {
                try await Task.sleep(for: wait)
            }
            do {
                credentials.update(try await next())
                failures = 0
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                logger.warning("could not refresh the service token", metadata: ["account": "\(id)", "error": "\(error)"])
            }
        }
    }

    private func next() async throws -> AuthToken {
        if let refresh = credentials.token?.refreshToken, !refresh.isEmpty {
            if let token = try? await auth.token(.refresh(refresh)) { return token }
        }
        return try await auth.token(.credentials(id: id, secret: secret))
    }
}
