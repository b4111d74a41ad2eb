// The NATSClient types MicroNATS's own public API takes or throws; the rest of the client is one
// `import NATSClient` away.
@_exported @_documentation(visibility: internal) import class NATSClient.NATSConnection
@_exported @_documentation(visibility: internal) import struct NATSClient.NATSError
@_exported @_documentation(visibility: internal) import struct NATSClient.NATSOptions
@_exported @_documentation(visibility: internal) import struct NATSClient.JetStream
@_exported @_documentation(visibility: internal) import struct NATSClient.JetStreamError
