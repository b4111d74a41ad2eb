/// Names of fields from key paths.
enum ModelFieldName {
    /// `\User.age` → `age` (the text after the type's name).
    static func of(_ keyPath: AnyKeyPath) -> String {
        let text = String(describing: keyPath)
        guard text.hasPrefix("\\"), let dot = text.firstIndex(of: ".") else { return text }
        return String(text[text.index(after: dot)...])
    }
}
