/// A bounded reader for the subset of Python's pickle format that `torch.save` writes for a
/// state dict (protocols 2 to 4): containers, numbers, strings, a few whitelisted callables
/// (`collections.OrderedDict`, torch's tensor rebuild functions) and persistent ids naming
/// storages. Nothing is executed: an unknown opcode or callable is an error naming the file
/// and byte offset. Every length is checked against the bytes that remain, and the stack,
/// the memo and the container sizes are bounded, so a hostile file costs at most a bounded
/// amount of memory and time.
///
/// Lists and dicts are mutable while they are being built (APPEND, SETITEMS); once one is
/// placed inside another container it is stored as a frozen copy (a tuple), so no value can
/// ever contain itself (no reference cycles, nothing leaks), and nesting depth is bounded
/// (releasing a deeply nested value recurses).
final class PickleList {
    var items: [PickleValue] = []
    /// Nesting depth of the list with its items.
    var depth = 1
}
final class PickleDict {
    var items: [(key: PickleValue, value: PickleValue)] = []
    var depth = 1
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a view of a storage.
struct PickledTensor {
    let storage: PickledStorage
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}

/// A storage named by a persistent id: ('storage', <type>, key, location, numel[, view]).
struct PickledStorage {
    /// The storage class name, e.g. "FloatStorage".
    let type: String
    let key: String
    let location: String
    let count: Int
}

indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A global reference `module.name` (only whitelisted ones can be called).
    case global(String, String)
    case storage(PickledStorage)
    case tensor(PickledTensor)

    var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var tupleValue: [PickleValue]? { if case .tuple(let t) = self { return t } else { return nil } }
}

struct Unpickler {
    /// Largest number of values on the stack, memo entries and container items.
    static let maxStack = 1 << 16
    static let maxMemo = 1 << 20
    static let maxItems = 1 << 22
    static let maxDimensions = 8
    static let maxDepth = 64

    let bytes: [UInt8]
    let file: String
    var pos: Int
    /// Values created so far (bounds the total work on a hostile stream).
    private var created = 0

    init(bytes: [UInt8], file: String, at offset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.pos = offset
    }

    private enum Slot {
        case mark
        /// A value and its nesting depth (for lists and dicts, their own `depth` is current).
        case value(PickleValue, Int)
    }

    /// A value as it is stored inside a container: lists and dicts frozen into tuples.
    private static func frozen(_ v: PickleValue) -> PickleValue {
        switch v {
        case .list(let l): return .tuple(l.items)
        case .dict(let d): return .tuple(d.items.map { .tuple([$0.key, $0.value]) })
        default: return v
        }
    }

    private static func depth(_ v: PickleValue, _ recorded: Int) -> Int {
        switch v {
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return recorded
        }
    }

    func error(_ what: String, at offset: Int? = nil) -> ElmoError {
        ElmoError(.invalidModel, "\(file): pickle at byte \(offset ?? pos): \(what)")
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - pos else {
            throw error("needs \(n) bytes but the data ends at byte \(bytes.count) (truncated file)")
        }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }

    private mutating func uint(_ width: Int) throws -> Int {
        let start = pos
        let value = littleEndianInteger(Array(try take(width)), at: 0, width: width)
        // An 8-byte length or frame size can exceed Int (a trap, not an error, if converted blindly).
        guard let n = Int(exactly: value) else {
            pos = start
            throw error("a \(width)-byte count of \(value) is beyond any file (corrupt data)")
        }
        return n
    }

    private mutating func line() throws -> String {
        guard let nl = bytes[pos...].prefix(4096).firstIndex(of: 0x0A) else {
            throw error("a GLOBAL name has no end of line within 4096 bytes")
        }
        defer { pos = nl + 1 }
        guard let s = String(validating: bytes[pos..<nl], as: UTF8.self) else { throw error("a GLOBAL name is not UTF-8") }
        return s
    }

    private func utf8(_ s: ArraySlice<UInt8>, at offset: Int) throws -> String {
        guard let v = String(validating: s, as: UTF8.self) else { throw error("a string is not valid UTF-8", at: offset) }
        return v
    }

    /// Reads one pickle (up to and including its STOP opcode) and returns its value.
    mutating func load() throws -> PickleValue {
        var stack: [Slot] = []
        var memo: [Int: (PickleValue, Int)] = [:]
        typealias Item = (value: PickleValue, depth: Int)
        func popItem(_ at: Int) throws -> Item {
            guard case .value(let v, let d)? = stack.popLast() else { throw error("stack underflow or unexpected MARK", at: at) }
            return (v, Unpickler.depth(v, d))
        }
        func pop(_ at: Int) throws -> PickleValue { try popItem(at).value }
        func popToMark(_ at: Int) throws -> [Item] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
                throw error("no MARK on the stack", at: at)
            }
            let items = stack[(m + 1)...].map { slot -> Item in
                if case .value(let v, let d) = slot { return (v, Unpickler.depth(v, d)) } else { return (.none, 1) }
            }
            stack.removeSubrange(m...)
            return items
        }
        /// The depth of a container of `items`, checked against the bound.
        func containerDepth(_ items: [Item], _ at: Int) throws -> Int {
            let d = 1 + (items.map(\.depth).max() ?? 0)
            guard d <= Unpickler.maxDepth else { throw error("values nested deeper than \(Unpickler.maxDepth)", at: at) }
            return d
        }
        func push(_ v: PickleValue, depth: Int = 1, _ at: Int) throws {
            guard stack.count < Unpickler.maxStack else { throw error("stack deeper than \(Unpickler.maxStack)", at: at) }
            created += 1
            guard created <= Unpickler.maxItems else { throw error("more than \(Unpickler.maxItems) values", at: at) }
            stack.append(.value(v, depth))
        }
        func pushTuple(_ items: [Item], _ at: Int) throws {
            try push(.tuple(items.map { Unpickler.frozen($0.value) }), depth: try containerDepth(items, at), at)
        }
        func memoize(_ index: Int, _ at: Int) throws {
            guard case .value(let v, let d)? = stack.last else { throw error("memoizing with an empty stack", at: at) }
            guard index >= 0, index < Unpickler.maxMemo, memo.count < Unpickler.maxMemo else {
                throw error("memo index \(index) out of range", at: at)
            }
            memo[index] = (v, d)
        }
        func recall(_ index: Int, _ at: Int) throws {
            guard let (v, d) = memo[index] else { throw error("memo index \(index) was never stored", at: at) }
            try push(v, depth: d, at)
        }
        func append(_ items: [Item], _ at: Int) throws {
            guard case .list(let l) = try pop(at) else { throw error("APPEND to something that is not a list", at: at) }
            guard l.items.count + items.count <= Unpickler.maxItems else { throw error("list too large", at: at) }
            l.depth = max(l.depth, try containerDepth(items, at))
            l.items += items.map { Unpickler.frozen($0.value) }
            stack.append(.value(.list(l), l.depth))
        }
        func setItems(_ pairs: [Item], _ at: Int) throws {
            guard pairs.count % 2 == 0 else { throw error("SETITEMS with an odd number of values", at: at) }
            guard case .dict(let d) = try pop(at) else { throw error("SETITEM(S) on something that is not a dict", at: at) }
            guard d.items.count + pairs.count / 2 <= Unpickler.maxItems else { throw error("dict too large", at: at) }
            d.depth = max(d.depth, try containerDepth(pairs, at))
            var i = 0
            while i < pairs.count {
                d.items.append((Unpickler.frozen(pairs[i].value), Unpickler.frozen(pairs[i + 1].value)))
                i += 2
            }
            stack.append(.value(.dict(d), d.depth))
        }

        while true {
            let at = pos
            let op = try take(1).first!
            switch op {
            case 0x80:  // PROTO
                let p = try uint(1)
                guard (2...5).contains(p) else { throw error("unsupported pickle protocol \(p)", at: at) }
            case 0x95:  // FRAME (protocol 4): an 8-byte length; frames are read as plain data
                _ = try uint(8)
            case 0x2E:  // STOP
                let v = try pop(at)
                guard stack.isEmpty else { throw error("STOP with \(stack.count) values left on the stack", at: at) }
                return v
            case 0x28:  // MARK
                guard stack.count < Unpickler.maxStack else { throw error("stack too deep", at: at) }
                stack.append(.mark)
            case 0x29: try push(.tuple([]), at)                       // EMPTY_TUPLE
            case 0x5D: try push(.list(PickleList()), at)              // EMPTY_LIST
            case 0x7D: try push(.dict(PickleDict()), at)              // EMPTY_DICT
            case 0x4E: try push(.none, at)                            // NONE
            case 0x88: try push(.bool(true), at)                      // NEWTRUE
            case 0x89: try push(.bool(false), at)                     // NEWFALSE
            case 0x4B: try push(.int(try uint(1)), at)                // BININT1
            case 0x4D: try push(.int(try uint(2)), at)                // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try uint(4)))), at)  // BININT
            case 0x8A:  // LONG1: little-endian two's complement of n bytes
                let n = try uint(1)
                let b = Array(try take(n))
                try push(try long(b, at), at)
            case 0x47:  // BINFLOAT: big-endian double
                let b = try take(8)
                var u: UInt64 = 0
                for x in b { u = u << 8 | UInt64(x) }
                try push(.float(Double(bitPattern: u)), at)
            case 0x58, 0x8C, 0x8D:  // BINUNICODE (4-byte length), SHORT_BINUNICODE (1), BINUNICODE8 (8)
                let n = try uint(op == 0x58 ? 4 : op == 0x8C ? 1 : 8)
                let start = pos
                try push(.string(try utf8(try take(n), at: start)), at)
            case 0x55, 0x54:  // SHORT_BINSTRING (1-byte length), BINSTRING (4): Python 2 str, read as Latin-1
                let n = try uint(op == 0x55 ? 1 : 4)
                try push(.string(String(try take(n).map { Character(Unicode.Scalar($0)) })), at)
            case 0x43, 0x42, 0x8E:  // SHORT_BINBYTES, BINBYTES, BINBYTES8
                let n = try uint(op == 0x43 ? 1 : op == 0x42 ? 4 : 8)
                try push(.bytes(Array(try take(n))), at)
            case 0x74: try pushTuple(try popToMark(at), at)          // TUPLE
            case 0x85: try pushTuple([try popItem(at)], at)          // TUPLE1
            case 0x86:                                                // TUPLE2
                let b = try popItem(at), a = try popItem(at)
                try pushTuple([a, b], at)
            case 0x87:                                                // TUPLE3
                let c = try popItem(at), b = try popItem(at), a = try popItem(at)
                try pushTuple([a, b, c], at)
            case 0x61: try append([try popItem(at)], at)             // APPEND
            case 0x65:  // APPENDS
                let items = try popToMark(at)
                try append(items, at)
            case 0x6C:  // LIST
                let items = try popToMark(at)
                try push(.list(PickleList()), at)
                try append(items, at)
            case 0x64:  // DICT
                let items = try popToMark(at)
                try push(.dict(PickleDict()), at)
                try setItems(items, at)
            case 0x73:  // SETITEM
                let v = try popItem(at), k = try popItem(at)
                try setItems([k, v], at)
            case 0x75: try setItems(try popToMark(at), at)           // SETITEMS
            case 0x71: try memoize(try uint(1), at)                  // BINPUT
            case 0x72: try memoize(try uint(4), at)                  // LONG_BINPUT
            case 0x94: try memoize(memo.count, at)                   // MEMOIZE
            case 0x68: try recall(try uint(1), at)                   // BINGET
            case 0x6A: try recall(try uint(4), at)                   // LONG_BINGET
            case 0x30: _ = try pop(at)                               // POP
            case 0x31: _ = try popToMark(at)                         // POP_MARK
            case 0x32:                                               // DUP
                let v = try popItem(at)
                stack.append(.value(v.value, v.depth))
                try push(v.value, depth: v.depth, at)
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(.global(module, name), at)
            case 0x93:  // STACK_GLOBAL
                guard let name = try pop(at).stringValue, let module = try pop(at).stringValue else {
                    throw error("STACK_GLOBAL needs two strings", at: at)
                }
                try push(.global(module, name), at)
            case 0x51:  // BINPERSID
                try push(try persistent(try pop(at), at), at)
            case 0x52:  // REDUCE
                let args = try pop(at)
                let callable = try pop(at)
                try push(try call(callable, args, at), at)
            case 0x81:  // NEWOBJ: cls.__new__(cls, *args): only OrderedDict
                let args = try pop(at)
                let cls = try pop(at)
                try push(try call(cls, args, at), at)
            case 0x62:  // BUILD: object state; only the `_metadata` of an OrderedDict (ignored)
                _ = try pop(at)
                guard case .value(let target, _)? = stack.last else { throw error("BUILD with an empty stack", at: at) }
                switch target {
                case .dict, .tensor: break
                default: throw error("BUILD on an unsupported object", at: at)
                }
            default:
                throw error("unsupported pickle opcode 0x" + String(op, radix: 16, uppercase: true), at: at)
            }
        }
    }

    private func long(_ b: [UInt8], _ at: Int) throws -> PickleValue {
        guard !b.isEmpty else { return .int(0) }
        // Values beyond 64 bits only matter as torch's legacy magic number; kept as bytes.
        guard b.count <= 8 else { return .bytes(b) }
        var u: UInt64 = 0
        for x in b.reversed() { u = u << 8 | UInt64(x) }
        if b.count < 8, b.last! & 0x80 != 0 { u |= ~UInt64(0) << (8 * UInt64(b.count)) }
        return .int(Int(Int64(bitPattern: u)))
    }

    /// ('storage', <storage class>, key, location, numel[, view_metadata]).
    private func persistent(_ id: PickleValue, _ at: Int) throws -> PickleValue {
        guard let t = id.tupleValue, t.count >= 5, t[0].stringValue == "storage" else {
            throw error("a persistent id that is not a storage reference", at: at)
        }
        guard case .global(let module, let name) = t[1], module == "torch" else {
            throw error("a storage whose type is not a torch storage class", at: at)
        }
        guard let key = t[2].stringValue ?? t[2].intValue.map(String.init), let location = t[3].stringValue,
              let count = t[4].intValue, count >= 0 else {
            throw error("a malformed storage reference (key, location or size)", at: at)
        }
        if t.count > 5, case .none = t[5] {} else if t.count > 5 {
            throw error("storage views (view_metadata) are not supported", at: at)
        }
        return .storage(PickledStorage(type: name, key: key, location: location, count: count))
    }

    private func call(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case .global(let module, let name) = callable else { throw error("REDUCE of a value that is not a global", at: at) }
        guard let a = args.tupleValue else { throw error("REDUCE arguments are not a tuple", at: at) }
        switch (module, name) {
        case ("collections", "OrderedDict"):
            guard a.isEmpty else { throw error("OrderedDict with constructor arguments is not supported", at: at) }
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard a.count >= 4, case .storage(let s) = a[0], let offset = a[1].intValue,
                  let size = a[2].tupleValue, let stride = a[3].tupleValue else {
                throw error("\(name) with unexpected arguments", at: at)
            }
            let shape = size.compactMap(\.intValue), strides = stride.compactMap(\.intValue)
            guard shape.count == size.count, strides.count == stride.count, shape.count == strides.count,
                  shape.count <= Unpickler.maxDimensions else {
                throw error("a tensor's size and stride are not matching tuples of at most \(Unpickler.maxDimensions) integers", at: at)
            }
            guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
                throw error("a tensor with a negative offset, size or stride", at: at)
            }
            return .tensor(PickledTensor(storage: s, offset: offset, shape: shape, stride: strides))
        case ("torch._utils", "_rebuild_parameter"):
            guard let first = a.first, case .tensor = first else { throw error("_rebuild_parameter without a tensor", at: at) }
            return first
        default:
            throw error("calls \(module).\(name), which a state dict never needs (refused)", at: at)
        }
    }
}
