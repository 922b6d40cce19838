import Atomics

/// A process-wide counter for ids (request ids, instance ids).
public final class AtomicCounter: Sendable {
    private let value = ManagedAtomic<UInt64>(0)
    public init() {}
    public func next() -> UInt64 { value.wrappingIncrementThenLoad(ordering: .relaxed) }
}
