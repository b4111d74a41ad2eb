@_exported import MicroCore
@_exported import MicroHTTP
@_exported import NIOCore
@_exported import MicroNATS
@_exported import MicroGRPC
@_exported import MicroEtcd
@_exported import MicroConsul
@_exported import MicroGossip
