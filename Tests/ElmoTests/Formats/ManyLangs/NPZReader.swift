import CZlib
import Foundation
import XCTest

/// Reads numpy `.npz` archives (stored or deflated members) holding little-endian float32 or
/// int32 `.npy` arrays: the reference outputs of the ELMoForManyLangs fixture.
struct NPZReader {
    struct Array {
        let shape: [Int]
        let floats: [Float]
        let ints: [Int32]
    }

    let data: Data
    private(set) var members: [String: (offset: Int, compressed: Int, size: Int, method: Int)] = [:]

    init(path: String) throws {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
        let b = [UInt8](data)
        func le(_ at: Int, _ w: Int) -> Int { (0..<w).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
        guard let eocd = stride(from: b.count - 22, through: 0, by: -1).first(where: { le($0, 4) == 0x0605_4B50 }) else {
            throw XCTSkip("\(path): not a zip archive")
        }
        var p = le(eocd + 16, 4)
        for _ in 0..<le(eocd + 10, 2) {
            let method = le(p + 10, 2), compressed = le(p + 20, 4), size = le(p + 24, 4)
            let nameLength = le(p + 28, 2), extra = le(p + 30, 2), comment = le(p + 32, 2), local = le(p + 42, 4)
            let name = String(decoding: b[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            let dataOffset = local + 30 + le(local + 26, 2) + le(local + 28, 2)
            members[String(name.dropLast(4))] = (dataOffset, compressed, size, method)  // drop ".npy"
            p += 46 + nameLength + extra + comment
        }
    }

    var names: [String] { members.keys.sorted() }

    func array(_ name: String) throws -> Array {
        let m = try XCTUnwrap(members[name], "no array \(name) in the npz")
        var raw = [UInt8](data[m.offset..<(m.offset + m.compressed)])
        if m.method == 8 {
            var out = [UInt8](repeating: 0, count: m.size)
            var stream = z_stream()
            XCTAssertEqual(inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)), Z_OK)
            let status = raw.withUnsafeMutableBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    stream.next_in = src.baseAddress
                    stream.avail_in = uInt(src.count)
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    return inflate(&stream, Z_FINISH)
                }
            }
            inflateEnd(&stream)
            XCTAssertEqual(status, Z_STREAM_END, "\(name): inflate failed")
            raw = out
        }
        // .npy: magic, version, header length, a Python dict literal, then the data.
        let major = Int(raw[6])
        let headerLength = major == 1 ? Int(raw[8]) | Int(raw[9]) << 8 : Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16
        let start = major == 1 ? 10 : 12
        let header = String(decoding: raw[start..<(start + headerLength)], as: UTF8.self)
        let shapeText = try XCTUnwrap(header.range(of: "'shape': (").map { header[$0.upperBound...] })
        let shape = shapeText[..<shapeText.firstIndex(of: ")")!].split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let body = Swift.Array(raw[(start + headerLength)...])
        XCTAssertFalse(header.contains("'fortran_order': True"))
        if header.contains("'<f4'") {
            let floats = (0..<count).map { i in
                Float(bitPattern: UInt32(body[4 * i]) | UInt32(body[4 * i + 1]) << 8 | UInt32(body[4 * i + 2]) << 16 | UInt32(body[4 * i + 3]) << 24)
            }
            return Array(shape: shape, floats: floats, ints: [])
        }
        if header.contains("'<i4'") {
            let ints = (0..<count).map { i in
                Int32(bitPattern: UInt32(body[4 * i]) | UInt32(body[4 * i + 1]) << 8 | UInt32(body[4 * i + 2]) << 16 | UInt32(body[4 * i + 3]) << 24)
            }
            return Array(shape: shape, floats: [], ints: ints)
        }
        if header.contains("'<i8'") {
            let ints = (0..<count).map { i in
                Int32(truncatingIfNeeded: (0..<8).reduce(UInt64(0)) { $0 | UInt64(body[8 * i + $1]) << (8 * UInt64($1)) })
            }
            return Array(shape: shape, floats: [], ints: ints)
        }
        throw XCTSkip("\(name): unsupported dtype in \(header)")
    }
}
