@_exported import MicroCore
@_exported import MicroHTTP
@_exported import MicroSQLite
// What a service's code touches of SwiftNIO: message bodies.
@_exported @_documentation(visibility: internal) import struct NIOCore.ByteBuffer
