#if canImport(Glibc)
import Glibc
#endif

/// Owner of one block of raw memory: 64-byte aligned heap memory, or a read-only file
/// mapping. Tensors point into a storage and keep it alive.
package final class MemoryStorage: @unchecked Sendable {
    package let base: UnsafeMutableRawPointer
    package let byteCount: Int
    private let release: (UnsafeMutableRawPointer, Int) -> Void

    /// Zero-filled, 64-byte aligned heap memory. Throws `.outOfMemory` rather than trapping.
    package init(zeroedBytes byteCount: Int) throws {
        guard byteCount >= 0 else { throw ElmoError(.invalidArgument, "negative allocation size") }
        var raw: UnsafeMutableRawPointer?
        let size = max(byteCount, 64)
        guard posix_memalign(&raw, 64, size) == 0, let p = raw else {
            throw ElmoError(.outOfMemory, "could not allocate \(byteCount) bytes")
        }
        memset(p, 0, size)
        base = p
        self.byteCount = byteCount
        release = { p, _ in free(p) }
    }

    /// Adopts memory that `release` frees (for example a `mmap`ed region and `munmap`).
    package init(adopting base: UnsafeMutableRawPointer, byteCount: Int,
                release: @escaping (UnsafeMutableRawPointer, Int) -> Void) {
        self.base = base
        self.byteCount = byteCount
        self.release = release
    }

    deinit { release(base, byteCount) }
}

/// Growable float scratch memory owned by a session (see `TypedScratchBuffer`).
typealias ScratchBuffer = TypedScratchBuffer<Float>
/// Growable bf16 scratch memory (activations rounded for the bf16 kernels).
typealias BF16ScratchBuffer = TypedScratchBuffer<UInt16>

/// Growable scratch memory owned by a session: reallocated only when a larger batch than
/// any before needs more, so steady-state embedding allocates nothing.
final class TypedScratchBuffer<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>?
    private(set) var capacity: Int = 0

    init() {}

    deinit { free(pointer) }

    /// Makes room for `count` elements; the contents are undefined afterwards.
    @discardableResult
    func reserve(_ count: Int) throws -> UnsafeMutablePointer<Element> {
        if let p = pointer, count <= capacity { return p }
        guard count >= 0, count <= Int.max / 8 else {
            throw ElmoError(.limitExceeded, "scratch request of \(count) elements is too large")
        }
        // Grow with headroom so a slowly growing batch does not reallocate every call.
        let newCapacity = max(count + count / 4, 16)
        free(pointer)
        pointer = nil
        capacity = 0
        guard let raw = malloc(newCapacity * MemoryLayout<Element>.stride) else {
            throw ElmoError(.outOfMemory, "could not allocate \(newCapacity * MemoryLayout<Element>.stride) bytes of scratch memory")
        }
        let p = raw.bindMemory(to: Element.self, capacity: newCapacity)
        pointer = p
        capacity = newCapacity
        return p
    }

    /// Returns the memory to the system.
    func release() {
        free(pointer)
        pointer = nil
        capacity = 0
    }
}
