import NIOCore
import SQLiteNIO

extension SQLiteConnection {
    /// Ends the open transaction, even in a cancelled task: sqlite-nio's async queries go through
    /// `NIOThreadPool.runIfActive`, which skips the work of a cancelled task, so an async `ROLLBACK`
    /// there would leave the transaction open on the connection and fail every later `BEGIN`.
    func rollback() async throws {
        let done: EventLoopFuture<[SQLiteRow]> = query("ROLLBACK", [])
        _ = try await done.get()
    }
}
