/// A Swift package with one tiny executable and no dependencies (so a static build takes seconds)
/// that is nonetheless a service the runtime can check: it listens on 127.0.0.1, registers a node in
/// the local registry under `$MICRO_HOME` (a file, as ``MicroCore/LocalRegistry`` writes them) and
/// answers mucp calls over HTTP: `Debug.Health` with `ok`, anything else with a greeting naming its
/// node and `TINY_GREETING`. SIGTERM removes its node and ends it.
enum TinyService {
    static func files(name: String, manifest: String) -> [String: String] {
        [
            "micro.yaml": manifest,
            "Package.swift": """
            // swift-tools-version:5.9
            import PackageDescription
            let package = Package(name: "\(name)", targets: [.executableTarget(name: "\(name)", path: "Sources/\(name)")])
            """,
            "Sources/\(name)/main.swift": mainSource(service: name),
        ]
    }

    static func mainSource(service: String) -> String {
        #"""
        #if canImport(Glibc)
        import Glibc
        #endif
        setvbuf(stdout, nil, _IOLBF, 0)
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        let service = "\#(service)"
        guard let home = env("MICRO_HOME") else { print("MICRO_HOME is not set"); exit(2) }
        let greeting = env("TINY_GREETING") ?? "-"
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 64) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard listening else { print("cannot listen"); exit(2) }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let node = "\(service)-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let directory = "\(home)/registry/\(service)"
        mkdir("\(home)/registry", 0o700)
        mkdir(directory, 0o700)
        let file = "\(directory)/\(node).json"
        let record = "{\"service\":{\"name\":\"\(service)\",\"version\":\"1\",\"metadata\":{},\"endpoints\":[],\"nodes\":[{\"id\":\"\(node)\",\"address\":\"127.0.0.1:\(port)\",\"metadata\":{\"protocol\":\"mucp\",\"transport\":\"http\"}}]},\"expires\":null}"
        let out = open(file + ".tmp", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard out >= 0, write(out, record, record.utf8.count) == record.utf8.count, close(out) == 0, rename(file + ".tmp", file) == 0 else {
            print("cannot register in \(directory)"); exit(2)
        }
        var nodeFile: [CChar] = Array(file.utf8CString)
        signal(SIGTERM) { _ in
            nodeFile.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            _exit(0)
        }
        print("tiny says hello from \(node) on 127.0.0.1:\(port)")
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { continue }
            var request: [UInt8] = []
            var headEnd: Int?
            while headEnd == nil, request.count < 65536 {
                let n = read(connection, &buffer, buffer.count)
                if n <= 0 { break }
                request += buffer[0..<n]
                if request.count >= 4 { headEnd = (3..<request.count).first { request[$0 - 3...$0].elementsEqual([13, 10, 13, 10]) } }
            }
            guard let end = headEnd else { close(connection); continue }
            var contentLength = 0
            var endpoint = ""
            for line in String(decoding: request[0...end], as: UTF8.self).lowercased().split(separator: "\r\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { String($0.drop { $0 == " " }) }
                guard parts.count == 2 else { continue }
                if parts[0] == "content-length" { contentLength = min(Int(parts[1]) ?? 0, 65536) }
                if parts[0] == "micro-endpoint" { endpoint = parts[1] }
            }
            while request.count < end + 1 + contentLength {
                let n = read(connection, &buffer, buffer.count)
                if n <= 0 { break }
                request += buffer[0..<n]
            }
            let body = endpoint == "debug.health" ? "{\"status\":\"ok\"}" : "{\"message\":\"\(greeting) from \(node)\"}"
            let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
            var sent = 0
            while sent < response.count {
                let n = response[sent...].withUnsafeBufferPointer { write(connection, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                sent += n
            }
            close(connection)
        }
        """#
    }
}
