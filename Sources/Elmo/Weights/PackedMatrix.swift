import CElmoKernels

/// A weight matrix in the kernels' packed layout (see `elmo_gemm.h`): column panels of
/// `ELMO_PANEL` columns, each `rows` x 64 floats (fp32), or ceil(rows / 2) pair rows of
/// 2 x 64 bf16 values (bf16, the operand layout of `vdpbf16ps`), or ceil(rows / 4) quad
/// rows of 4 x 64 int8 values (int8, the operand layout of `vpdpbusd`, with per-column
/// scales and column sums: `elmo_int8.h`). Built once at load, or adopted straight from a
/// memory-mapped native file.
struct PackedMatrix: @unchecked Sendable {
    /// Shape (panels, rows, 64) for fp32, (panels, ceil(rows / 2), 128) for bf16,
    /// (panels, ceil(rows / 4), 256) for int8.
    let tensor: Tensor
    /// int8 only: (panels * 64) fp32 scales, one per column.
    let scales: Tensor?
    /// int8 only: (panels * 64) int32 column sums of the quantised values.
    let columnSums: Tensor?
    /// K: rows (inputs).
    let rows: Int
    /// N: logical columns (outputs).
    let cols: Int

    static let panelWidth = Int(ELMO_PANEL)

    /// The stored shape of a packed rows x cols matrix of `element`s.
    static func shape(rows: Int, cols: Int, element: TensorElement = .f32) -> [Int] {
        let panels = (cols + panelWidth - 1) / panelWidth
        switch element {
        case .bf16: return [panels, (rows + 1) / 2, 2 * panelWidth]
        case .i8: return [panels, (rows + 3) / 4, 4 * panelWidth]
        default: return [panels, rows, panelWidth]
        }
    }

    /// The shape of an int8 matrix's scales and of its column sums.
    static func int8ColumnShape(cols: Int) -> [Int] { [(cols + panelWidth - 1) / panelWidth * panelWidth] }

    /// Wraps a tensor that already holds a packed matrix; its shape must be `shape(rows:cols:element:)`
    /// for its element type. An int8 matrix needs its scales (F32) and column sums (I32).
    init(tensor: Tensor, rows: Int, cols: Int, scales: Tensor? = nil, columnSums: Tensor? = nil) throws {
        guard tensor.shape == PackedMatrix.shape(rows: rows, cols: cols, element: tensor.element) else {
            throw ElmoError(.shapeMismatch, "packed matrix of shape \(formatShape(tensor.shape)) cannot hold \(rows) x \(cols)")
        }
        if tensor.element == .i8 {
            let shape = PackedMatrix.int8ColumnShape(cols: cols)
            guard let scales, scales.element == .f32, scales.shape == shape,
                  let columnSums, columnSums.element == .i32, columnSums.shape == shape else {
                throw ElmoError(.invalidModel, "int8 packed matrix of \(rows) x \(cols) needs F32 scales and I32 column sums of shape \(formatShape(shape))")
            }
        }
        self.tensor = tensor
        self.rows = rows
        self.cols = cols
        self.scales = tensor.element == .i8 ? scales : nil
        self.columnSums = tensor.element == .i8 ? columnSums : nil
    }

    var element: TensorElement { tensor.element }

    /// The C descriptor the fp32 and bf16 kernels take. Valid while this matrix (its storage) is alive.
    var descriptor: elmo_packed {
        elmo_packed(data: tensor.rawPointer, rows: Int64(rows), cols: Int64(cols),
                    type: Int32(element == .f32 ? ELMO_WEIGHTS_F32.rawValue : ELMO_WEIGHTS_BF16.rawValue))
    }

    /// The C descriptor the int8 kernels take (int8 matrices only).
    var int8Descriptor: elmo_packed_int8 {
        elmo_packed_int8(data: tensor.rawPointer.assumingMemoryBound(to: Int8.self),
                         scales: scales!.pointer,
                         column_sums: columnSums!.rawPointer.assumingMemoryBound(to: Int32.self),
                         rows: Int64(rows), cols: Int64(cols))
    }

    var panelCount: Int { tensor.shape[0] }

    /// This matrix with `element`s: bf16 from fp32 rounds each weight to nearest even
    /// (`elmo_bf16_round`); int8 from fp32 quantises per column (`elmo_int8_pack`); fp32
    /// from bf16 is exact, fp32 from int8 is scale x value rounded once; bf16 and int8
    /// convert to each other through fp32. Returns self when already so.
    func converted(to target: TensorElement) throws -> PackedMatrix {
        guard target != element else { return self }
        if element != .f32 && target != .f32 { return try converted(to: .f32).converted(to: target) }
        let W = PackedMatrix.panelWidth, pairRows = (rows + 1) / 2, panels = panelCount
        if target == .i8 {
            let quads = (rows + 3) / 4
            let (t, data) = try Tensor.allocate(shape: PackedMatrix.shape(rows: rows, cols: cols, element: .i8), element: .i8)
            let (sc, scalePointer) = try Tensor.allocate(shape: PackedMatrix.int8ColumnShape(cols: cols))
            let (sums, sumPointer) = try Tensor.allocate(shape: PackedMatrix.int8ColumnShape(cols: cols), element: .i32)
            let out = data.assumingMemoryBound(to: Int8.self), sumOut = sumPointer.assumingMemoryBound(to: Int32.self)
            for p in 0..<panels {
                // One fp32 panel (rows x 64, row-major) is a rows x 64 matrix to quantise.
                elmo_int8_pack(tensor.pointer + p * rows * W, W, 1, rows, W, out + p * quads * 4 * W,
                               scalePointer + p * W, sumOut + p * W)
            }
            return try PackedMatrix(tensor: t, rows: rows, cols: cols, scales: sc, columnSums: sums)
        }
        if element == .i8 {
            let (t, out) = try Tensor.allocate(shape: PackedMatrix.shape(rows: rows, cols: cols, element: .f32))
            var d = int8Descriptor
            for p in 0..<panels {
                for k in 0..<rows {
                    for j in 0..<W { out[(p * rows + k) * W + j] = elmo_int8_packed_value(&d, k, p * W + j) }
                }
            }
            return try PackedMatrix(tensor: t, rows: rows, cols: cols)
        }
        if target == .bf16 {
            let (t, out) = try Tensor.allocateBF16(shape: PackedMatrix.shape(rows: rows, cols: cols, element: .bf16))
            for p in 0..<panels {
                // One fp32 panel (rows x 64, row-major) is a rows x 64 matrix to pack.
                elmo_bf16_pack(tensor.pointer + p * rows * W, W, 1, rows, W, out + p * pairRows * 2 * W)
            }
            return try PackedMatrix(tensor: t, rows: rows, cols: cols)
        }
        let (t, out) = try Tensor.allocate(shape: PackedMatrix.shape(rows: rows, cols: cols, element: .f32))
        let source = tensor.bf16Pointer
        for p in 0..<panels {
            let src = source + p * pairRows * 2 * W, dst = out + p * rows * W
            for k in 0..<rows {
                let pair = src + (k / 2) * 2 * W + (k % 2)
                for j in 0..<W { dst[k * W + j] = elmo_bf16_widen(pair[2 * j]) }
            }
        }
        return try PackedMatrix(tensor: t, rows: rows, cols: cols)
    }

    /// Packs a matrix whose column j is `column(j)`: a pointer to its element in row 0 and
    /// the distance between rows (nil: a zero column). Rows from `sourceRows` to `rows` are
    /// zero (padding), as are columns at or beyond `cols`.
    static func pack(rows: Int, cols: Int, sourceRows: Int,
                     column: (Int) -> (UnsafePointer<Float>, Int)?) throws -> PackedMatrix {
        let shape = PackedMatrix.shape(rows: rows, cols: cols)
        let (tensor, out) = try Tensor.allocate(shape: shape)
        let W = panelWidth
        /// A run of panel columns that are consecutive columns of one source matrix.
        struct Run {
            var first: Int
            var length: Int
            var base: UnsafePointer<Float>
            var stride: Int
        }
        var runs: [Run] = []
        for p in 0..<shape[0] {
            runs.removeAll(keepingCapacity: true)
            for j in 0..<W {
                let c = p * W + j
                guard c < cols, let (base, stride) = column(c) else { continue }
                if var last = runs.last, last.first + last.length == j, last.stride == stride,
                   last.base + last.length == base {
                    last.length += 1
                    runs[runs.count - 1] = last
                } else {
                    runs.append(Run(first: j, length: 1, base: base, stride: stride))
                }
            }
            // Row by row, each run is one contiguous copy from the source row.
            let panel = out + p * rows * W
            for k in 0..<min(sourceRows, rows) {
                let dst = panel + k * W
                for r in runs { (dst + r.first).update(from: r.base + k * r.stride, count: r.length) }
            }
        }
        return try PackedMatrix(tensor: tensor, rows: rows, cols: cols)
    }

    /// Packs rows x cols of a row-major matrix (`rows` <= sourceRows is not required:
    /// missing rows are zero).
    static func pack(rows: Int, cols: Int, sourceRows: Int, matrix: UnsafePointer<Float>, stride: Int) throws -> PackedMatrix {
        try pack(rows: rows, cols: cols, sourceRows: sourceRows) { (matrix + $0, stride) }
    }
}
