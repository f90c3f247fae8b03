import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// The live handles given to C callers. A handle is a token the library hands out (never an
/// object's address): each one is new, never reused for the life of the process, so a freed
/// (stale) handle can never come to name a later object that happens to be allocated at the
/// same address. The table holds the strong reference that keeps the object alive until the
/// handle is freed. Every entry point looks its handle up here first, so a NULL, freed,
/// foreign or wrong-kind handle (a session passed as a model) is reported as
/// ELMO_ERR_INVALID_ARGUMENT instead of being dereferenced. The lookup returns a strong
/// reference, so a model freed by one thread while another thread is inside a call on it
/// stays alive until that call returns.
enum Handles {
    private static let table = HandleTable()

    /// Registers `object` and returns its new handle.
    static func register(_ object: AnyObject) -> OpaquePointer {
        table.insert(object)
    }

    static func model(_ handle: OpaquePointer?, _ what: String = "model") throws -> ElmoModel {
        guard let model = try lookup(handle, what) as? ElmoModel else {
            throw invalidArgument("\(what) is not an elmo_model handle")
        }
        return model
    }

    static func session(_ handle: OpaquePointer?) throws -> ElmoSession {
        guard let session = try lookup(handle, "session") as? ElmoSession else {
            throw invalidArgument("session is not an elmo_session handle")
        }
        return session
    }

    /// Removes a handle of type `T`; false for NULL. Throws if it is not a live `T` handle.
    static func remove<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type, _ what: String) throws -> Bool {
        guard let handle else { return false }
        // The object is released after the table's lock is dropped (its deinit may be long:
        // a session joins its helper threads).
        guard let removed = table.remove(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle))), if: { $0 is T }) else {
            throw invalidArgument("\(what) is not a live \(handleName(T.self)) handle (already freed?)")
        }
        withExtendedLifetime(removed) {}
        return true
    }

    private static func lookup(_ handle: OpaquePointer?, _ what: String) throws -> AnyObject {
        guard let handle else { throw invalidArgument("\(what) is NULL") }
        guard let object = table.find(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))) else {
            throw invalidArgument("\(what) is not a live libelmo handle (already freed?)")
        }
        return object
    }

    private static func handleName(_ type: AnyObject.Type) -> String {
        type == ElmoModel.self ? "elmo_model" : "elmo_session"
    }
}

/// Token -> object, under a pthread mutex (which ThreadSanitizer understands; it cannot see
/// the synchronisation of Synchronization.Mutex, whose futex code is not instrumented).
private final class HandleTable: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var objects: [UInt: AnyObject] = [:]
    /// The next token. Starts far from 0 and steps by 16, so handles look like aligned
    /// pointers to tools (and never equal NULL); 2^60 handles before it could wrap.
    private var next: UInt = 0x7E1_0000

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    func insert(_ object: AnyObject) -> OpaquePointer {
        let token: UInt = locked {
            let t = next
            next += 16
            objects[t] = object
            return t
        }
        // Non-zero by construction.
        return OpaquePointer(bitPattern: token)!
    }

    func find(_ token: UInt) -> AnyObject? {
        locked { objects[token] }
    }

    /// Removes and returns the object of `token` when `accept` says it is of the right kind.
    func remove(_ token: UInt, if accept: (AnyObject) -> Bool) -> AnyObject? {
        locked {
            guard let object = objects[token], accept(object) else { return nil }
            objects[token] = nil
            return object
        }
    }
}
