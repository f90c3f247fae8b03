// Creating, freeing and resetting sessions.
import CElmoABI
import Elmo

@_cdecl("elmo_session_params_init")
public func elmoSessionParamsInit(_ params: UnsafeMutablePointer<elmo_session_params>?, _ size: Int) -> elmo_status {
    entryPoint("elmo_session_params_init") { try elmo_session_params.initialize(params, size: size) }
}

@_cdecl("elmo_session_create")
public func elmoSessionCreate(_ model: OpaquePointer?, _ params: UnsafePointer<elmo_session_params>?,
                              _ session: UnsafeMutablePointer<OpaquePointer?>?) -> elmo_status {
    session?.pointee = nil
    return entryPoint("elmo_session_create") {
        guard let session else { throw invalidArgument("session (the result pointer) is NULL") }
        let model = try Handles.model(model)
        let p = try elmo_session_params.read(params)
        let created = ElmoSession(model: model, stateful: p.stateful != 0, limits: try p.limits(), threads: try p.threads())
        session.pointee = Handles.register(created)
    }
}

@_cdecl("elmo_session_free")
public func elmoSessionFree(_ session: OpaquePointer?) -> elmo_status {
    entryPoint("elmo_session_free") { _ = try Handles.remove(session, as: ElmoSession.self, "session") }
}

@_cdecl("elmo_session_reset")
public func elmoSessionReset(_ session: OpaquePointer?) -> elmo_status {
    entryPoint("elmo_session_reset") { try Handles.session(session).reset() }
}

@_cdecl("elmo_session_release_memory")
public func elmoSessionReleaseMemory(_ session: OpaquePointer?) -> elmo_status {
    entryPoint("elmo_session_release_memory") { try Handles.session(session).releaseMemory() }
}
