#if canImport(Glibc)
import Glibc
#endif

/// Reads a text file (or stdin) line by line with constant memory, splitting lines as
/// Python's text files do (universal newlines: "\n", "\r\n" and a lone "\r" each end a
/// line; a final line without a terminator counts; no empty line after a final
/// terminator). A UTF-8 byte-order mark at the start of the input is dropped.
final class LineReader {
    enum Line {
        /// The line's bytes, valid until the next call.
        case text(UnsafeBufferPointer<UInt8>)
        /// A line longer than `maxLineBytes`; it was skipped to its end.
        case tooLong(bytes: Int)
    }

    /// Longest line kept in memory; longer lines are reported, not read.
    let maxLineBytes: Int
    /// The input as named in messages ("<stdin>" for "-").
    let displayName: String
    /// The input's size when it is a regular file (for the progress ETA).
    let totalBytes: Int?
    /// Bytes consumed so far.
    private(set) var bytesConsumed = 0
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0  // first unconsumed byte in buffer
    private var end = 0  // end of valid bytes in buffer
    private var eof = false
    private var skipLineFeed = false  // the previous line ended with "\r": a following "\n" belongs to it
    private var atStart = true

    init(path: String, maxLineBytes: Int = 4 << 20) throws {
        self.maxLineBytes = maxLineBytes
        if path == "-" {
            fd = 0
            ownsDescriptor = false
            displayName = "<stdin>"
        } else {
            var st = stat()
            if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                throw CLIFailure("\(path): cannot read the input: it is a directory")
            }
            let f = open(path, O_RDONLY | O_CLOEXEC)
            guard f >= 0 else { throw CLIFailure("\(path): cannot read the input: \(describeErrno())") }
            fd = f
            ownsDescriptor = true
            displayName = path
        }
        var st = stat()
        totalBytes = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil
        capacity = 1 << 16
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor { close(fd) }
    }

    /// The next line without its terminator, or nil at the end of the input.
    func next() throws -> Line? {
        var scan = start  // where to continue looking for a terminator
        var discarded = 0  // bytes of an over-long line dropped so far
        while true {
            if atStart {
                if end - start < 3 && !eof { try fill(); scan = start; continue }
                atStart = false
                if end - start >= 3 && buffer[start] == 0xEF && buffer[start + 1] == 0xBB && buffer[start + 2] == 0xBF {
                    start += 3
                    bytesConsumed += 3
                    scan = start
                }
            }
            if skipLineFeed {
                if start == end && !eof { try fill(); scan = start; continue }
                skipLineFeed = false
                if start < end && buffer[start] == 0x0A {
                    start += 1
                    bytesConsumed += 1
                    scan = start
                }
            }
            while scan < end && buffer[scan] != 0x0A && buffer[scan] != 0x0D { scan += 1 }
            if scan < end {
                let terminator = buffer[scan]
                let lineStart = start
                let length = scan - lineStart
                start = scan + 1
                bytesConsumed += length + 1
                skipLineFeed = terminator == 0x0D
                lineNumber += 1
                if discarded > 0 || length > maxLineBytes { return .tooLong(bytes: discarded + length) }
                return .text(UnsafeBufferPointer(start: buffer + lineStart, count: length))
            }
            if eof {
                guard start < end || discarded > 0 else { return nil }
                let length = end - start
                let lineStart = start
                start = end
                bytesConsumed += length
                lineNumber += 1
                if discarded > 0 || length > maxLineBytes { return .tooLong(bytes: discarded + length) }
                return .text(UnsafeBufferPointer(start: buffer + lineStart, count: length))
            }
            // No terminator in the buffer: drop an over-long line's bytes, then read more.
            if end - start > maxLineBytes {
                discarded += end - start
                bytesConsumed += end - start
                start = end
            }
            let keptBefore = start
            try fill()
            scan = start + (scan - keptBefore)
        }
    }

    /// Moves the unconsumed bytes to the front (growing the buffer if it is full, up to
    /// one line's limit) and reads more.
    private func fill() throws {
        if start > 0 {
            let n = end - start
            if n > 0 { buffer.update(from: buffer + start, count: n) }
            start = 0
            end = n
        }
        if end == capacity {
            let newCapacity = capacity * 2
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity = newCapacity
        }
        while true {
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIFailure("\(displayName): read failed: \(describeErrno())") }
            if n == 0 { eof = true } else { end += n }
            return
        }
    }
}
