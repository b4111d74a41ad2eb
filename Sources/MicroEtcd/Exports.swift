// The EtcdClient types MicroEtcd's own public API takes or throws; the rest of the client is one
// `import EtcdClient` away.
@_exported @_documentation(visibility: internal) import struct EtcdClient.EtcdConfiguration
@_exported @_documentation(visibility: internal) import class EtcdClient.EtcdConnection
@_exported @_documentation(visibility: internal) import struct EtcdClient.EtcdEndpoint
@_exported @_documentation(visibility: internal) import struct EtcdClient.EtcdError
