import CElmoABI
import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// The C status code for each error kind of the core (one to one).
func status(for kind: ElmoError.Kind) -> elmo_status {
    switch kind {
    case .invalidArgument: return ELMO_ERR_INVALID_ARGUMENT
    case .invalidInput: return ELMO_ERR_INVALID_INPUT
    case .io: return ELMO_ERR_IO
    case .invalidModel: return ELMO_ERR_INVALID_MODEL
    case .shapeMismatch: return ELMO_ERR_SHAPE_MISMATCH
    case .limitExceeded: return ELMO_ERR_LIMIT_EXCEEDED
    case .outOfMemory: return ELMO_ERR_OUT_OF_MEMORY
    case .bufferTooSmall: return ELMO_ERR_BUFFER_TOO_SMALL
    case .sessionBusy: return ELMO_ERR_SESSION_BUSY
    }
}

/// Runs the body of the C entry point `function`: success is ELMO_OK; a thrown error becomes
/// its status code, and its message (prefixed with the function's name) becomes the calling
/// thread's `elmo_last_error()`.
func entryPoint(_ function: String, _ body: () throws -> Void) -> elmo_status {
    do {
        try body()
        return ELMO_OK
    } catch let error as ElmoError {
        LastError.set("\(function): \(error.message)")
        return status(for: error.kind)
    } catch {
        LastError.set("\(function): internal error: \(error)")
        return ELMO_ERR_INTERNAL
    }
}

/// Shorthand for the argument errors the entry points raise themselves.
func invalidArgument(_ message: String) -> ElmoError {
    ElmoError(.invalidArgument, message)
}

/// The message of the last failed call, per thread: a malloc'd C string stored under a
/// pthread key whose destructor frees it when the thread exits. The library owns it; it stays
/// valid until the next failing call on the same thread replaces it.
enum LastError {
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        guard pthread_key_create(&key, { free($0) }) == 0 else { return nil }
        return key
    }()

    static func set(_ message: String) {
        guard let key else { return }
        let old = pthread_getspecific(key)
        // strdup may fail (out of memory): then the thread simply has no message.
        pthread_setspecific(key, strdup(message))
        free(old)
    }

    static var current: UnsafePointer<CChar> {
        guard let key, let message = pthread_getspecific(key) else { return elmo_abi_empty_string() }
        return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
    }
}
