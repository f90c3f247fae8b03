#if canImport(Glibc)
import Glibc
#endif
import CZlib

/// The bytes of an archive file read front to back, gunzipped on the fly (through the system
/// zlib) when the file is gzip-compressed, as is when it is a plain tar. Nothing is read
/// ahead beyond one input buffer, so memory use does not depend on the archive's size.
final class ArchiveInput {
    let path: String
    let isCompressed: Bool
    private let fd: Int32
    private var inputBuffer: UnsafeMutablePointer<UInt8>
    private let inputCapacity = 1 << 18
    /// Unconsumed input bytes start at `inputStart` (plain files).
    private var inputStart = 0
    private var inputCount = 0
    private var inputEnded = false
    private var stream: UnsafeMutablePointer<z_stream>?
    private var finished = false

    init(path: String) throws {
        _ = try requireRegularFile(path, what: "module archive")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open module archive: \(systemErrorMessage())") }
        self.fd = fd
        self.path = path
        inputBuffer = .allocate(capacity: inputCapacity)
        // Decide gzip or plain from the first two bytes.
        var magic = [UInt8](repeating: 0, count: 2)
        let n = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 2, 0) }
        isCompressed = n == 2 && magic == [0x1F, 0x8B]
        if isCompressed {
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            guard elmo_inflate_init_gzip(s) == Z_OK else {
                s.deallocate()
                inputBuffer.deallocate()
                close(fd)
                throw ElmoError(.outOfMemory, "\(path): cannot start gzip decompression")
            }
            stream = s
        }
    }

    deinit {
        if let s = stream {
            inflateEnd(s)
            s.deallocate()
        }
        inputBuffer.deallocate()
        close(fd)
    }

    /// Refills the input buffer when it is empty; false at the end of the file.
    private func fillInput() throws -> Bool {
        if inputCount > 0 { return true }
        if inputEnded { return false }
        while true {
            let n = Glibc.read(fd, inputBuffer, inputCapacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw ElmoError(.io, "\(path): read failed: \(systemErrorMessage())")
            }
            if n == 0 {
                inputEnded = true
                return false
            }
            inputStart = 0
            inputCount = n
            return true
        }
    }

    /// Reads up to `count` bytes of (decompressed) content into `destination`; 0 only at the end.
    func read(into destination: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard count > 0, !finished else { return 0 }
        guard let s = stream else {
            guard try fillInput() else {
                finished = true
                return 0
            }
            let n = min(count, inputCount)
            destination.copyMemory(from: inputBuffer + inputStart, byteCount: n)
            inputStart += n
            inputCount -= n
            return n
        }
        let want = UInt32(min(count, Int(UInt32.max)))
        while true {
            if s.pointee.avail_in == 0 {
                inputCount = 0
                if try fillInput() {
                    s.pointee.next_in = inputBuffer
                    s.pointee.avail_in = UInt32(inputCount)
                }
            }
            s.pointee.next_out = destination.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_out = want
            let status = inflate(s, Z_NO_FLUSH)
            let produced = Int(want - s.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if s.pointee.avail_in == 0 && inputEnded {
                    throw ElmoError(.invalidModel, "\(path): the gzip stream is truncated (the file ends before the compressed data does)")
                }
            case Z_STREAM_END:
                // Another gzip member may follow (concatenated .gz files); anything else after
                // the end is ignored, as gzip does with trailing zeros.
                if s.pointee.avail_in == 0 {
                    inputCount = 0
                    if try fillInput() {
                        s.pointee.next_in = inputBuffer
                        s.pointee.avail_in = UInt32(inputCount)
                    }
                }
                if s.pointee.avail_in >= 2, s.pointee.next_in[0] == 0x1F, s.pointee.next_in[1] == 0x8B {
                    inflateReset(s)
                } else {
                    finished = true
                }
                if produced > 0 || finished { return produced }
            case Z_MEM_ERROR:
                throw ElmoError(.outOfMemory, "\(path): out of memory while decompressing")
            default:
                let detail = s.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                throw ElmoError(.invalidModel, "\(path): corrupt gzip data (\(detail))")
            }
        }
    }

    /// Reads to the end, discarding the bytes, so that zlib checks the gzip trailer (CRC-32 and
    /// length of everything decompressed) even when the tar archive ended earlier.
    func drain() throws {
        let chunk = 1 << 16
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch, count: chunk) > 0 {}
    }

    /// Reads exactly `count` bytes; false if the content ended first (after `got` bytes).
    func readFully(into destination: UnsafeMutableRawPointer, count: Int) throws -> (complete: Bool, got: Int) {
        var done = 0
        while done < count {
            let n = try read(into: destination + done, count: count - done)
            if n == 0 { return (false, done) }
            done += n
        }
        return (true, done)
    }
}
