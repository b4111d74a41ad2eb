/// The largest value and metadata a store accepts; a larger write fails with
/// ``StoreError/Code/tooLarge`` and changes nothing.
public struct StoreLimits: Sendable, Hashable {
    /// The largest value, in bytes (default 1 MiB).
    public var maxValueBytes: Int
    /// The largest metadata, counted as the UTF-8 bytes of every name and value (default 64 KiB).
    public var maxMetadataBytes: Int

    /// Limits; the defaults are 1 MiB of value and 64 KiB of metadata.
    public init(maxValueBytes: Int = 1 << 20, maxMetadataBytes: Int = 64 << 10) {
        self.maxValueBytes = max(0, maxValueBytes)
        self.maxMetadataBytes = max(0, maxMetadataBytes)
    }
}
