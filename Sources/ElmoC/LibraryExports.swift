// Version, status names and the thread-local error message.
import CElmoABI

@_cdecl("elmo_version")
public func elmoVersion() -> UnsafePointer<CChar> {
    elmo_abi_version_string()
}

@_cdecl("elmo_status_string")
public func elmoStatusString(_ status: elmo_status) -> UnsafePointer<CChar> {
    // An out-of-range value a C caller cast into the enum is answered, not trapped on.
    elmo_abi_status_name(Int32(truncatingIfNeeded: status.rawValue))
}

@_cdecl("elmo_last_error")
public func elmoLastError() -> UnsafePointer<CChar> {
    LastError.current
}
