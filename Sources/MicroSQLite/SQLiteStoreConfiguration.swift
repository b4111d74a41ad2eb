import MicroCore

/// How a ``SQLiteStore`` keeps its files: where, how large a record may be, and how long a write waits
/// for another process holding the file's write lock.
public struct SQLiteStoreConfiguration: Sendable {
    /// The directory holding one `<database>.sqlite` file per database (created mode 0700, files 0600).
    public var directory: String
    /// The largest value and metadata a write may carry.
    public var limits: StoreLimits
    /// How long an operation waits for a lock another connection or process holds before failing
    /// with ``StoreError/Code/unavailable``.
    public var busyTimeout: Duration

    /// A configuration for `directory`.
    public init(directory: String, limits: StoreLimits = StoreLimits(), busyTimeout: Duration = .seconds(5)) {
        self.directory = directory
        self.limits = limits
        self.busyTimeout = busyTimeout
    }

    /// The directory used when none is given: `MICRO_STORE_ADDRESS` if set, else `$MICRO_HOME/store`
    /// (`~/.micro/store`).
    public static func defaultDirectory(environment: MicroEnvironment = MicroEnvironment()) -> String {
        if let address = environment.storeAddress { return address }
        return environment.home.hasSuffix("/") ? environment.home + "store" : environment.home + "/store"
    }
}
