import Foundation
import MicroCore
import Testing

@Suite struct MicroErrorTests {
    @Test func encodesGoMicroFieldNames() throws {
        let e = MicroError.notFound("greeter", "no such thing")
        #expect(e.json == #"{"code":404,"detail":"no such thing","id":"greeter","status":"Not Found"}"#)
        let object = try #require(JSONSerialization.jsonObject(with: Data(e.json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "code", "detail", "status"])
        #expect(object["code"] as? Int == 404)
    }

    @Test func omitsEmptyFields() throws {
        #expect(MicroError(id: "", code: 0, detail: "", status: "").json == "{}")
        let noID = MicroError(id: "", code: 500, detail: "boom")
        #expect(noID.json == #"{"code":500,"detail":"boom","status":"Internal Server Error"}"#)
        // A code without a known status text leaves status out.
        let teapot = MicroError(id: "kettle", code: 418, detail: "short and stout")
        #expect(teapot.status == "")
        #expect(teapot.json == #"{"code":418,"detail":"short and stout","id":"kettle"}"#)
        // Slashes are not escaped (Go's encoder does not escape them either).
        #expect(MicroError.badRequest("a/b", "x").json.contains(#""id":"a/b""#))
    }

    @Test func codableRoundTrip() throws {
        let e = MicroError(id: "svc", code: 409, detail: "taken", status: "Conflict")
        let data = try JSONEncoder().encode(e)
        #expect(try JSONDecoder().decode(MicroError.self, from: data) == e)
    }

    @Test func parsesGoMicroErrorJSON() {
        let text = #"{"id":"go.micro.client","code":408,"detail":"call timeout: context deadline exceeded","status":"Request Timeout"}"#
        let e = MicroError.parse(text)
        #expect(e.id == "go.micro.client")
        #expect(e.code == 408)
        #expect(e.detail == "call timeout: context deadline exceeded")
        #expect(e.status == "Request Timeout")
    }

    @Test func parsesPartialJSONWithoutInventingStatus() {
        let e = MicroError.parse(#"{"code":503}"#)
        #expect(e.code == 503)
        #expect(e.id == "")
        #expect(e.detail == "")
        #expect(e.status == "")
        let detailOnly = MicroError.parse(#"{"detail":"only detail"}"#)
        #expect(detailOnly.code == 0)
        #expect(detailOnly.detail == "only detail")
    }

    @Test(arguments: ["connection refused", "", "{}", "[1,2]", #"{"status":"Not Found"}"#, "{\"id\": "])
    func nonErrorTextBecomes500(text: String) {
        let e = MicroError.parse(text)
        #expect(e.code == 500)
        #expect(e.detail == text)
        #expect(e.id == "")
        #expect(e.status == "Internal Server Error")
    }

    @Test(arguments: [
        (Int32(400), "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found"),
        (405, "Method Not Allowed"), (408, "Request Timeout"), (409, "Conflict"), (412, "Precondition Failed"),
        (413, "Request Entity Too Large"), (415, "Unsupported Media Type"), (429, "Too Many Requests"),
        (500, "Internal Server Error"), (501, "Not Implemented"), (502, "Bad Gateway"),
        (503, "Service Unavailable"), (504, "Gateway Timeout"), (0, ""), (299, ""),
    ])
    func statusTexts(code: Int32, text: String) {
        #expect(MicroError.statusText(code) == text)
        #expect(MicroError(id: "x", code: code, detail: "d").status == text)
    }

    @Test func helpersUseTheirCodes() {
        let cases: [(MicroError, Int32)] = [
            (.badRequest("s", "d"), 400), (.unauthorized("s", "d"), 401), (.forbidden("s", "d"), 403),
            (.notFound("s", "d"), 404), (.methodNotAllowed("s", "d"), 405), (.timeout("s", "d"), 408),
            (.conflict("s", "d"), 409), (.tooLarge("s", "d"), 413), (.internalServerError("s", "d"), 500),
            (.unavailable("s", "d"), 503),
        ]
        for (e, code) in cases {
            #expect(e.code == code)
            #expect(e.id == "s")
            #expect(e.detail == "d")
            #expect(e.status == MicroError.statusText(code))
            #expect(!e.status.isEmpty)
        }
    }

    @Test func explicitStatusIsKept() {
        #expect(MicroError(id: "", code: 404, detail: "", status: "Gone Fishing").status == "Gone Fishing")
    }

    @Test func descriptionNamesTheParts() {
        let d = MicroError.notFound("greeter", "nope").description
        #expect(d.contains("id=greeter"))
        #expect(d.contains("code=404"))
        #expect(d.contains("detail=nope"))
    }

    struct Custom: Error, CustomStringConvertible { var description: String { "disk on fire" } }
    struct Convertible: MicroErrorConvertible { var microError: MicroError { .conflict("conv", "mine") } }

    @Test func fromKeepsMicroErrors() {
        let e = MicroError.forbidden("auth", "no")
        #expect(MicroError.from(e, id: "other") == e)
    }

    @Test func fromUsesConvertibleErrors() {
        #expect(MicroError.from(Convertible(), id: "other") == .conflict("conv", "mine"))
        let codec = MicroError.from(CodecError(contentType: "application/json", reason: "bad"), id: "svc")
        #expect(codec.code == 400)
        #expect(codec.detail.contains("bad"))
        let transport = MicroError.from(TransportError(.connectFailed, address: "a:1", detail: "refused"), id: "svc")
        #expect(transport.code == 503)
        #expect(MicroError.from(TransportError(.timeout, address: "a:1", detail: "slow"), id: "svc").code == 408)
        #expect(MicroError.from(TransportError(.messageTooLarge, address: "a:1", detail: "big"), id: "svc").code == 413)
        #expect(MicroError.from(TransportError(.protocolViolation, address: "a:1", detail: "?"), id: "svc").code == 400)
    }

    @Test func fromMapsCancellationToTimeout() {
        let e = MicroError.from(CancellationError(), id: "svc")
        #expect(e.code == 408)
        #expect(e.id == "svc")
    }

    @Test func fromWrapsOtherErrorsAs500() {
        let e = MicroError.from(Custom(), id: "svc")
        #expect(e.code == 500)
        #expect(e.id == "svc")
        #expect(e.detail.contains("disk on fire"))
        #expect(e.status == "Internal Server Error")
    }
}
