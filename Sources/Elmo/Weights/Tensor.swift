/// Element type of a stored tensor.
package enum TensorElement: Equatable, Sendable {
    /// IEEE float32.
    case f32
    /// bfloat16: the upper 16 bits of a float32 (8-bit exponent, 7-bit mantissa).
    case bf16
    /// Signed 8-bit integers (int8 packed matrices, `elmo_int8.h`).
    case i8
    /// Signed 32-bit integers (the column sums of int8 packed matrices).
    case i32

    var byteWidth: Int {
        switch self {
        case .f32, .i32: return 4
        case .bf16: return 2
        case .i8: return 1
        }
    }

    /// The safetensors dtype name.
    var safetensorsName: String {
        switch self {
        case .f32: return "F32"
        case .bf16: return "BF16"
        case .i8: return "I8"
        case .i32: return "I32"
        }
    }
}

/// A read-only tensor: a shape, an element type and a pointer into storage it keeps alive.
/// Weights are immutable once a model is built, which is what makes a model safe to share
/// between threads.
package struct Tensor: @unchecked Sendable {
    package let shape: [Int]
    /// The elements as float32. Meaningful for float32 tensors only (every tensor a caller
    /// can make; bf16 tensors exist only inside prepared weights, see `bf16Pointer`).
    package let pointer: UnsafePointer<Float>
    let storage: MemoryStorage
    let element: TensorElement

    /// Number of elements.
    package var count: Int { shape.reduce(1, *) }

    /// Bytes of the elements.
    var byteCount: Int { count * element.byteWidth }

    /// The first byte of the elements.
    var rawPointer: UnsafeRawPointer { UnsafeRawPointer(pointer) }

    /// The elements of a bf16 tensor.
    var bf16Pointer: UnsafePointer<UInt16> {
        UnsafePointer(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt16.self))
    }

    package init(shape: [Int], storage: MemoryStorage, byteOffset: Int = 0, element: TensorElement = .f32) {
        self.shape = shape
        self.storage = storage
        self.element = element
        self.pointer = UnsafePointer((storage.base + byteOffset).assumingMemoryBound(to: Float.self))
    }

    /// A freshly allocated, zero-filled tensor, and its mutable pointer for filling it.
    package static func allocate(shape: [Int]) throws -> (Tensor, UnsafeMutablePointer<Float>) {
        let n = try checkedElementCount(shape)
        let storage = try MemoryStorage(zeroedBytes: n * MemoryLayout<Float>.stride)
        let t = Tensor(shape: shape, storage: storage)
        return (t, UnsafeMutablePointer(mutating: t.pointer))
    }

    /// A freshly allocated, zero-filled bf16 tensor, and its mutable pointer for filling it.
    static func allocateBF16(shape: [Int]) throws -> (Tensor, UnsafeMutablePointer<UInt16>) {
        let n = try checkedElementCount(shape)
        let storage = try MemoryStorage(zeroedBytes: n * MemoryLayout<UInt16>.stride)
        let t = Tensor(shape: shape, storage: storage, element: .bf16)
        return (t, storage.base.bindMemory(to: UInt16.self, capacity: n))
    }

    /// A freshly allocated, zero-filled tensor of `element`s, and its first byte for filling it.
    static func allocate(shape: [Int], element: TensorElement) throws -> (Tensor, UnsafeMutableRawPointer) {
        let n = try checkedElementCount(shape)
        let storage = try MemoryStorage(zeroedBytes: n * element.byteWidth)
        return (Tensor(shape: shape, storage: storage, element: element), storage.base)
    }

    /// A tensor made from values (tests and small derived tensors).
    package init(shape: [Int], values: [Float]) throws {
        let (t, p) = try Tensor.allocate(shape: shape)
        guard values.count == t.count else {
            throw ElmoError(.invalidArgument, "\(values.count) values do not fill shape \(formatShape(shape))")
        }
        values.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: values.count) }
        self = t
    }

    /// A view of rows [start, start+count) of a 2-D tensor, sharing storage.
    func rows(_ start: Int, _ count: Int) -> Tensor {
        precondition(shape.count == 2 && start >= 0 && start + count <= shape[0])
        let offset = (pointer - UnsafePointer(storage.base.assumingMemoryBound(to: Float.self))) + start * shape[1]
        return Tensor(shape: [count, shape[1]], storage: storage, byteOffset: offset * MemoryLayout<Float>.stride)
    }

    /// The values as an array (tests, small tensors).
    package var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    package subscript(_ i: Int) -> Float { pointer[i] }
}

/// Product of a shape's dimensions, refusing negative dimensions and overflow.
package func checkedElementCount(_ shape: [Int]) throws -> Int {
    var n = 1
    for d in shape {
        guard d >= 0 else { throw ElmoError(.invalidModel, "negative dimension in shape \(formatShape(shape))") }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        guard !o, p <= Int.max / 16 else { throw ElmoError(.invalidModel, "shape \(formatShape(shape)) is too large") }
        n = p
    }
    return n
}
