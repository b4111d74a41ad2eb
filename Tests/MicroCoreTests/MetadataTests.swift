import MicroCore
import NIOCore
import Testing

@Suite struct MetadataTests {
    @Test func keysMatchCaseInsensitively() {
        var md = Metadata()
        md["Micro-From-Service"] = "caller"
        #expect(md["micro-from-service"] == "caller")
        #expect(md["MICRO-FROM-SERVICE"] == "caller")
        #expect(md["Micro-From-Service"] == "caller")
        md["MICRO-FROM-SERVICE"] = "other"
        #expect(md.count == 1)
        #expect(md["micro-from-service"] == "other")
    }

    @Test func initialisersLowercaseKeys() {
        let fromDict = Metadata(["X-Trace-Id": "abc", "User": "bob"])
        #expect(fromDict.dictionary == ["x-trace-id": "abc", "user": "bob"])
        let literal: Metadata = ["Content-Type": "application/json"]
        #expect(literal.dictionary == ["content-type": "application/json"])
        #expect(literal["content-type"] == "application/json")
        #expect(fromDict == Metadata(["x-trace-id": "abc", "USER": "bob"]))
    }

    @Test func settingNilRemoves() {
        var md: Metadata = ["A": "1", "B": "2"]
        md["a"] = nil
        #expect(md["A"] == nil)
        #expect(md.count == 1)
        md["b"] = nil
        #expect(md.isEmpty)
    }

    @Test func mergingLetsOtherWinIgnoringCase() {
        let base: Metadata = ["Trace": "1", "User": "alice"]
        let extra: Metadata = ["USER": "bob", "Region": "eu"]
        let merged = base.merging(extra)
        #expect(merged.count == 3)
        #expect(merged["user"] == "bob")
        #expect(merged["trace"] == "1")
        #expect(merged["region"] == "eu")
        // The originals are unchanged (value semantics).
        #expect(base["user"] == "alice")
        #expect(base.count == 2)
        #expect(Metadata().merging(Metadata()).isEmpty)
    }

    @Test func iteratesLowercasedPairs() {
        let md: Metadata = ["A": "1", "b": "2"]
        var seen: [String: String] = [:]
        for (k, v) in md { seen[k] = v }
        #expect(seen == ["a": "1", "b": "2"])
    }

    @Test func callContextMergesMetadataAndKeepsEarliestDeadline() async {
        #expect(CallContext.current.metadata.isEmpty)
        #expect(CallContext.current.deadline == nil)
        let near = NIODeadline.now() + .seconds(1)
        let far = near + .seconds(10)
        await CallContext.with(metadata: ["Trace": "t1", "User": "a"], deadline: near) {
            #expect(CallContext.current.metadata["trace"] == "t1")
            #expect(CallContext.current.deadline == near)
            await CallContext.with(metadata: ["user": "b"], deadline: far) {
                // Inner metadata wins, outer keys survive; a later deadline does not extend the earlier one.
                #expect(CallContext.current.metadata["USER"] == "b")
                #expect(CallContext.current.metadata["trace"] == "t1")
                #expect(CallContext.current.deadline == near)
            }
            let nearer = near - .milliseconds(500)
            await CallContext.with(metadata: [:], deadline: nearer) {
                #expect(CallContext.current.deadline == nearer)
            }
            #expect(CallContext.current.metadata["user"] == "a")
        }
        #expect(CallContext.current.metadata.isEmpty)
    }
}
