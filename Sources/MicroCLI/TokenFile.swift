import Foundation
import Micro

/// The token `micro login` keeps at `$MICRO_HOME/token` (mode 0600) and `micro call`, `stream` and
/// `publish` send as `Authorization: Bearer`.
enum TokenFile {
    static func path(_ environment: MicroEnvironment) -> String {
        (environment.home as NSString).appendingPathComponent("token")
    }

    /// Writes the token pair, readable and writable by the user only (created with that mode, never wider).
    static func write(_ token: AuthToken, environment: MicroEnvironment) throws {
        try PrivateFile.write(Data(try jsonText(token).utf8), to: path(environment))
    }

    /// The saved access token's `Authorization` value, nil when there is none (or it does not parse).
    static func authorization(_ environment: MicroEnvironment) -> String? {
        guard let data = FileManager.default.contents(atPath: path(environment)), data.count <= 64 * 1024 else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode(AuthToken.self, from: data)).map { BearerToken.value($0.accessToken) }
    }
}
