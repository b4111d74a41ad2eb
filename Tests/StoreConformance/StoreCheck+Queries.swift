import MicroCore

extension StoreCheck {
    static let queries: [StoreCheck] = [
        StoreCheck("keys come back in ascending byte order") { c in
            let keys = ["b", "a", "A", "a/b", "a/a", "aa", "a\u{7F}", "a\u{80}", "\u{E9}", "e\u{301}", "z", "~", "日本", "😀",
                        "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{D7FF}", "\u{E000}", "0", "-", "_", " ", "a b"]
            for key in keys { try await c.store.write(key, bytes: [1]) }
            let expected = StoreCheckContext.byteOrder(keys)
            try c.expectKeys(try await c.store.list(), expected, "list")
            try c.expectKeys(try await c.store.read().map(\.key), expected, "read of every record")
            let listed = try await c.store.list()
            let index = { (k: String) in listed.firstIndex { Array($0.utf8) == Array(k.utf8) } ?? -1 }
            try c.expect(index("A") < index("a") && index("a") < index("a/a") && index("a/a") < index("a/b")
                         && index("a/b") < index("aa"), "uppercase before lowercase, '/' before 'a': \(listed)")
            try c.expect(index("\u{D7FF}") < index("\u{E000}") && index("\u{FFFF}") < index("\u{10000}"),
                         "code point order across the surrogate gap and the BMP's end")
        },
        StoreCheck("prefix reads match exactly the keys that start with the prefix") { c in
            let keys = ["user", "user/1", "user/10", "user/2", "users", "usez", "uses/1", "u", "v", "日", "日本", "旦",
                        "a\u{10FFFF}", "a\u{10FFFF}b", "b", "\u{D7FF}x", "\u{E000}", "\u{7F}a", "\u{80}"]
            for key in keys { try await c.store.write(key, bytes: Array(key.utf8)) }
            let cases: [(String, [String])] = [
                ("user/", ["user/1", "user/10", "user/2"]),
                ("user", ["user", "user/1", "user/10", "user/2", "users"]),
                ("use", ["user", "user/1", "user/10", "user/2", "users", "uses/1", "usez"]),
                ("x", []),
                ("日", ["日", "日本"]),
                ("a\u{10FFFF}", ["a\u{10FFFF}", "a\u{10FFFF}b"]),
                ("\u{D7FF}", ["\u{D7FF}x"]),
                ("\u{7F}", ["\u{7F}a"]),
                ("user/10", ["user/10"]),
                ("user/100", []),
            ]
            for (prefix, expected) in cases {
                let records = try await c.store.read(prefix: prefix)
                try c.expectKeys(records.map(\.key), expected, "read prefix \(prefix.debugDescription)")
                for record in records { try c.expectEqual(record.value, Array(record.key.utf8), "value of \(record.key.debugDescription)") }
                try c.expectKeys(try await c.store.list(prefix: prefix), expected, "list prefix \(prefix.debugDescription)")
            }
        },
        StoreCheck("suffix reads, and prefix and suffix together") { c in
            let keys = ["a.json", "b.json", "c.txt", "json", "ab", "aba", "日本", "本", "本日", "x.JSON"]
            for key in keys { try await c.store.write(key, bytes: [1]) }
            let cases: [(String, String, [String])] = [
                ("", ".json", ["a.json", "b.json"]),
                ("", "json", ["a.json", "b.json", "json"]),
                ("a", "json", ["a.json"]),
                ("ab", "ba", ["aba"]),
                ("ab", "ab", ["ab"]),
                ("", "本", ["日本", "本"]),
                ("", "ON", ["x.JSON"]),
                ("", "nothing", []),
                ("b", ".txt", []),
            ]
            for (prefix, suffix, expected) in cases {
                try c.expectKeys(try await c.store.read(prefix: prefix, suffix: suffix).map(\.key), expected,
                                 "read prefix \(prefix.debugDescription) suffix \(suffix.debugDescription)")
                try c.expectKeys(try await c.store.list(prefix: prefix, suffix: suffix), expected,
                                 "list prefix \(prefix.debugDescription) suffix \(suffix.debugDescription)")
            }
        },
        StoreCheck("limit and offset apply after filtering, in key order") { c in
            let keys = (0..<25).map { String(format: "k%02d", $0) }
            for key in keys.reversed() { try await c.store.write(key, bytes: [1]) }
            try await c.store.write("other", bytes: [1])
            let cases: [(limit: Int?, offset: Int, expected: [String])] = [
                (10, 0, Array(keys[0..<10])),
                (10, 20, Array(keys[20..<25])),
                (nil, 22, Array(keys[22..<25])),
                (10, 25, []),
                (10, 1000, []),
                (0, 0, []),
                (1, 24, ["k24"]),
                (nil, 0, keys),
            ]
            for (limit, offset, expected) in cases {
                let what = "prefix k, limit \(String(describing: limit)), offset \(offset)"
                try c.expectKeys(try await c.store.read(prefix: "k", limit: limit, offset: offset).map(\.key), expected, "read " + what)
                try c.expectKeys(try await c.store.list(prefix: "k", limit: limit, offset: offset), expected, "list " + what)
            }
            try c.expectKeys(try await c.store.list(suffix: "4", limit: 2, offset: 1), ["k14", "k24"], "suffix with limit and offset")
            try c.expectKeys(try await c.store.list(limit: 2, offset: 25), ["other"], "no filter: offset counts every key")
        },
    ]
}
