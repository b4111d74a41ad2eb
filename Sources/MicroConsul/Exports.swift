// The ConsulClient types MicroConsul's own public API takes or throws; the rest of the client is one
// `import ConsulClient` away.
@_exported @_documentation(visibility: internal) import struct ConsulClient.ConsulAgentConfiguration
@_exported @_documentation(visibility: internal) import struct ConsulClient.ConsulError
