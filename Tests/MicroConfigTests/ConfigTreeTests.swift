import Configuration
import MicroConfig
import MicroCore
import Testing

private func entry(_ path: String, _ json: String) throws -> ConfigEntry {
    ConfigEntry(path: try ConfigPath(path), document: Array(json.utf8))
}

private func code(_ body: () throws -> Void) -> ConfigError.Code? {
    do {
        try body()
        return nil
    } catch let error as ConfigError {
        return error.code
    } catch {
        return nil
    }
}

@Suite struct ConfigTreeTests {
    @Test func documentsMergeByPathDeeperWins() throws {
        let tree = try ConfigTree.merge([
            try entry("greeter", #"{"greeting":"hi","limits":{"max":5}}"#),
            try entry("", #"{"greeter":{"greeting":"root","colour":"blue"},"top":1}"#),
            try entry("greeter.limits", #"{"min":1}"#),
            try entry("database.address", #""127.0.0.1:5432""#),
        ])
        #expect(tree.node(at: try ConfigPath("greeter.greeting")) == .string("hi"))
        #expect(tree.node(at: try ConfigPath("greeter.colour")) == .string("blue"))
        #expect(tree.node(at: try ConfigPath("greeter.limits")) == .object(["max": .int(5), "min": .int(1)]))
        #expect(tree.node(at: try ConfigPath("database.address")) == .string("127.0.0.1:5432"))
        #expect(tree.node(at: try ConfigPath("top")) == .int(1))
        #expect(tree.node(at: try ConfigPath("greeter.missing")) == nil)
        #expect(tree.node(at: try ConfigPath("top.below")) == nil)
    }

    @Test func savedDocumentReadsBack() throws {
        let tree = try ConfigTree.merge([try entry("a", #"{"s":"x\"y","n":1.5,"i":-3,"b":true,"z":null,"l":[1,"two",[3]]}"#)])
        #expect(try ConfigTree(document: tree.jsonDocument()) == tree)
    }

    @Test func pathsAreValidated() {
        for bad in ["a..b", ".a", "a.", "a/b", "a b", "ä", "a.\u{0}", String(repeating: "x", count: 129),
                    Array(repeating: "a", count: 33).joined(separator: ".")] {
            #expect(code { _ = try ConfigPath(bad) } == .invalidPath, "\(bad.prefix(20))")
        }
        #expect((try? ConfigPath("Greeter_1.max-size"))?.components == ["Greeter_1", "max-size"])
        #expect((try? ConfigPath(""))?.isRoot == true)
    }

    @Test func badDocumentsAreTypedErrors() throws {
        let limits = ConfigLimits(maxDocumentBytes: 1000, maxTotalBytes: 1500, maxEntries: 50, maxDepth: 8, maxArrayElements: 10)
        func merge(_ entries: [ConfigEntry]) throws { _ = try ConfigTree.merge(entries, limits: limits) }
        #expect(code { try merge([try entry("a", #"{"x":"#)]) } == .invalidDocument)   // truncated mid-write
        #expect(code { try merge([try entry("a", "not json")]) } == .invalidDocument)
        #expect(code { try merge([try entry("a", #"{"x":1} trailing"#)]) } == .invalidDocument)
        #expect(code { try merge([try entry("a", "1e999")]) } == .invalidDocument)
        #expect(code { try merge([try entry("", "[1,2]")]) } == .invalidDocument)
        #expect(code { try merge([try entry("a", String(repeating: "[", count: 8) + String(repeating: "]", count: 8))]) } == .tooDeep)
        #expect(code { try merge([try entry("a.b.c.d.e.f.g", #"{"x":{"y":1}}"#)]) } == .tooDeep)
        #expect(code { try merge([try entry("a", "\"" + String(repeating: "x", count: 1000) + "\"")]) } == .tooLarge)
        #expect(code { try merge([try entry("a", "[" + String(repeating: "1,", count: 10) + "1]")]) } == .tooLarge)
        let half = "\"" + String(repeating: "x", count: 800) + "\""
        #expect(code { try merge([try entry("a", half), try entry("b", half)]) } == .tooLarge)
        let many = "{" + (0..<60).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
        #expect(code { try merge([try entry("a", many)]) } == .tooManyEntries)
        // One bad document refuses the whole set.
        #expect(code { try merge([try entry("good", #"{"x":1}"#), try entry("bad", "{")]) } == .invalidDocument)
        // The default limits: 33 levels are refused, a 2 MiB document too.
        #expect(code { _ = try ConfigTree.merge([try entry("a", String(repeating: "[", count: 40) + String(repeating: "]", count: 40))]) } == .tooDeep)
        let deepNest = String(repeating: "[", count: 100_000)
        #expect(code { _ = try ConfigTree.merge([try entry("a", deepNest)]) } == .tooDeep)
        #expect(code { _ = try ConfigTree.merge([try entry("a", "\"" + String(repeating: "x", count: 2 << 20) + "\"")]) } == .tooLarge)
    }

    @Test func oddKeysInsideDocumentsAreKeptButUnreachable() throws {
        let tree = try ConfigTree.merge([try entry("a", #"{"we ird.key":1,"\u0000":2,"ok":3}"#)])
        let snapshot = ConfigTreeSnapshot(providerName: "t", tree: tree)
        #expect(try snapshot.value(forKey: AbsoluteConfigKey(["a", "ok"]), type: .int).value?.content == .int(3))
        #expect(try snapshot.value(forKey: AbsoluteConfigKey(["a", "we ird", "key"]), type: .int).value == nil)
    }

    @Test func snapshotConvertsTypesAndRefusesMismatches() throws {
        let tree = try ConfigTree.merge([try entry("", #"{"s":"x","i":2,"d":2.5,"w":3.0,"b":true,"l":["a","b"],"n":[1,2],"m":[1,"a"],"z":null,"o":{"k":1}}"#)])
        let snapshot = ConfigTreeSnapshot(providerName: "t", tree: tree)
        func value(_ key: String, _ type: ConfigType) throws -> ConfigContent? {
            try snapshot.value(forKey: AbsoluteConfigKey(key.split(separator: ".").map(String.init)), type: type).value?.content
        }
        #expect(try value("s", .string) == .string("x"))
        #expect(try value("i", .int) == .int(2))
        #expect(try value("i", .double) == .double(2))
        #expect(try value("w", .int) == .int(3))
        #expect(try value("d", .double) == .double(2.5))
        #expect(try value("b", .bool) == .bool(true))
        #expect(try value("l", .stringArray) == .stringArray(["a", "b"]))
        #expect(try value("n", .intArray) == .intArray([1, 2]))
        #expect(try value("z", .string) == nil)
        #expect(try value("missing", .string) == nil)
        #expect(try value("o.k", .int) == .int(1))
        for (key, type) in [("s", ConfigType.int), ("d", .int), ("i", .string), ("b", .int), ("m", .intArray), ("m", .stringArray), ("o", .string)] {
            #expect(code { _ = try value(key, type) } == .typeMismatch, "\(key) as \(type)")
        }
    }
}
