import Elmo
import Synchronization

/// The live handles given to C callers. A handle is the address of the object it stands for;
/// the table holds the strong reference that keeps the object alive until the handle is freed.
/// Every entry point looks its handle up here first, so a NULL, freed, foreign or wrong-kind
/// handle (a session passed as a model) is reported as ELMO_ERR_INVALID_ARGUMENT instead of
/// being dereferenced. The lookup returns a strong reference, so a model freed by one thread
/// while another thread is inside a call on it stays alive until that call returns.
enum Handles {
    /// ElmoSession is not Sendable; it guards itself against concurrent use (sessionBusy),
    /// and the table only stores and hands out references.
    private struct Entry: @unchecked Sendable {
        let object: AnyObject
    }

    private static let live = Mutex<[UInt: Entry]>([:])

    /// Registers `object` and returns its handle.
    static func register(_ object: AnyObject) -> OpaquePointer {
        let address = Unmanaged.passUnretained(object).toOpaque()
        live.withLock { $0[UInt(bitPattern: address)] = Entry(object: object) }
        return OpaquePointer(address)
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
        let key = UInt(bitPattern: UnsafeRawPointer(handle))
        let removed: Bool = live.withLock { table in
            guard let entry = table[key], entry.object is T else { return false }
            table[key] = nil
            return true
        }
        guard removed else { throw invalidArgument("\(what) is not a live \(handleName(T.self)) handle (already freed?)") }
        return true
    }

    private static func lookup(_ handle: OpaquePointer?, _ what: String) throws -> AnyObject {
        guard let handle else { throw invalidArgument("\(what) is NULL") }
        let key = UInt(bitPattern: UnsafeRawPointer(handle))
        guard let entry = live.withLock({ $0[key] }) else {
            throw invalidArgument("\(what) is not a live libelmo handle (already freed?)")
        }
        return entry.object
    }

    private static func handleName(_ type: AnyObject.Type) -> String {
        type == ElmoModel.self ? "elmo_model" : "elmo_session"
    }
}
