import MicroCore

/// How an ``EtcdStore`` lays out and reads its records (the members and timeouts are the client's
/// `EtcdConfiguration`).
public struct EtcdStoreConfiguration: Sendable {
    /// What every key starts with, before `<database>/<table>/<key>` (default `/micro/store/`).
    public var prefix: String
    /// The largest value and metadata a write may carry. etcd refuses requests over its
    /// `--max-request-bytes` (1.5 MiB by default), so keep a record under that.
    public var limits: StoreLimits
    /// The most keys one range request of a prefix read or list asks for (default 128); a page etcd
    /// cannot send within the client's response limit is asked again at half the size.
    public var pageSize: Int

    /// A configuration; the defaults suit etcd's defaults.
    public init(prefix: String = "/micro/store/", limits: StoreLimits = StoreLimits(), pageSize: Int = 128) {
        self.prefix = prefix
        self.limits = limits
        self.pageSize = max(1, pageSize)
    }
}
