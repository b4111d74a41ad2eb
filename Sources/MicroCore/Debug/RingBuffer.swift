/// A first-in, first-out buffer of fixed capacity: appending to a full one drops the oldest element.
/// The storage is allocated once; the debug buffers (logs, spans) keep their records in one.
package struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    /// How many elements it holds.
    package private(set) var count = 0

    /// An empty buffer holding at most `capacity` elements (at least 1).
    package init(capacity: Int) {
        storage = Array(repeating: nil, count: max(1, capacity))
    }

    /// The most it holds.
    package var capacity: Int { storage.count }

    /// Appends `element`, returning the oldest one when it had to make room.
    @discardableResult
    package mutating func append(_ element: Element) -> Element? {
        if count == storage.count {
            // Full: the new element takes the oldest one's place, which is moved out (not copied).
            var dropped: Element? = element
            swap(&dropped, &storage[head])
            head = head + 1 == storage.count ? 0 : head + 1
            return dropped
        }
        storage[(head + count) % storage.count] = element
        count += 1
        return nil
    }

    /// Removes and returns the oldest element, nil when empty.
    @discardableResult
    package mutating func removeFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return element
    }

    /// The element `offset` places after the oldest.
    package subscript(offset: Int) -> Element {
        storage[(head + offset) % storage.count]!
    }

    /// The elements, oldest first, that `isIncluded` keeps, at most the `limit` newest of them.
    package func suffix(_ limit: Int, where isIncluded: (Element) -> Bool) -> [Element] {
        var picked: [Element] = []
        var offset = count - 1
        while offset >= 0, picked.count < limit {
            let element = self[offset]
            if isIncluded(element) { picked.append(element) }
            offset -= 1
        }
        return picked.reversed()
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
