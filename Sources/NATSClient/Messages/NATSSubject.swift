/// Checks of subjects, reply subjects and queue groups before they go on the wire.
enum NATSSubject {
    /// A publish subject or reply subject: not empty, no whitespace or control characters.
    static func validatePublish(_ subject: String) throws(NATSError) {
        var empty = true
        for byte in subject.utf8 {
            empty = false
            if byte <= 0x20 || byte == 0x7F { throw NATSError(.badSubject, "subject \(subject.debugDescription) has whitespace or a control character") }
        }
        if empty { throw NATSError(.badSubject, "empty subject") }
    }

    /// A subscription subject: also no empty tokens (`a..b`, leading or trailing `.`).
    static func validateSubscribe(_ subject: String) throws(NATSError) {
        try validatePublish(subject)
        var previousDot = true
        for byte in subject.utf8 {
            let dot = byte == UInt8(ascii: ".")
            if dot && previousDot { throw NATSError(.badSubject, "subject \(subject.debugDescription) has an empty token") }
            previousDot = dot
        }
        if previousDot { throw NATSError(.badSubject, "subject \(subject.debugDescription) ends with '.'") }
    }

    /// A queue group: not empty, no whitespace or control characters.
    static func validateQueue(_ queue: String) throws(NATSError) {
        do {
            try validatePublish(queue)
        } catch {
            throw NATSError(.badSubject, "bad queue group \(queue.debugDescription)")
        }
    }
}
