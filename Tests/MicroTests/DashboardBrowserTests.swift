import Foundation
import MicroTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// `micro web` in headless Chromium (selenium and chromedriver) against the greeter example:
    /// the list shows it, its page shows both endpoints and their shapes, the form's call shows
    /// `Hello …`, the call's trace page draws its span with a bar, and the greeter's row leaves the
    /// list without a reload once it stops. The run's screenshots are kept in the directory the test prints.
    @Suite struct DashboardBrowser {
        @Test func dashboardShowsCallsAndFollowsTheGreeter() async throws {
            let python = try testPython()
            for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
                throw EngineMissing(description: "\(tool) not found (apt-get install chromium chromium-driver; scripts/test installs them)")
            }
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter")
            _ = try await waitForNodes("greeter", in: h.registryDirectory)
            let port = try freePort()
            let web = try h.start("micro", ["web", "--address", "127.0.0.1:\(port)"])
            #expect(await web.waitForOutput(containing: "listening on http://127.0.0.1:\(port)", timeout: .seconds(10)), "\(web.output)")

            let shots = FileManager.default.temporaryDirectory.appendingPathComponent("micro-dashboard-screenshots-\(UUID().uuidString.prefix(8))")
            print("dashboard screenshots: \(shots.path)")
            let script = BuiltProducts.packageRoot.appendingPathComponent("Tests/MicroTests/browser/dashboard_test.py")
            let browser = try h.start(executable: URL(fileURLWithPath: python), [script.path, "http://127.0.0.1:\(port)", shots.path], label: "browser")
            let ready = await browser.waitForOutput(containing: "ready-to-kill", timeout: .seconds(60))
            #expect(ready, "the browser steps before the stop failed:\n\(browser.output)")
            greeter.signal(SIGTERM)
            #expect(await browser.waitForExit(timeout: .seconds(40)), "the browser did not finish:\n\(browser.output)")
            #expect(browser.exitedNormally && browser.terminationStatus == 0, "\(browser.output)")
            #expect(browser.output.contains("\nok\n") || browser.output.hasSuffix("ok\n"), "\(browser.output)")
            for name in ["1-services.png", "2-greeter-call.png", "3-greeter-trace.png", "4-greeter-gone.png"] {
                #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent(name).path), "screenshot \(name)")
            }
            #expect(web.isRunning, "micro web died: \(web.output)")
        }
    }
}
