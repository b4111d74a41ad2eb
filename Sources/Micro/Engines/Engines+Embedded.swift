import MicroCore
import MicroHTTP
import MicroSQLite

extension Engines {
    /// What runs with nothing else installed: the `local` and `memory` registries, the `http` and
    /// `memory` brokers and transports, the `sqlite`, `memory` and `service` (``RemoteStore``) stores. Engine modules' plugins add the rest.
    public static let embedded: Engines = Engines([.inProcess, .http, .sqlite, .storeService])
}
