@_exported import MicroCore
@_exported import MicroHTTP
// What a service's code touches of SwiftNIO: message bodies.
@_exported @_documentation(visibility: internal) import struct NIOCore.ByteBuffer
