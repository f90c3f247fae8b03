// The public header, imported into Swift so that ElmoC's @_cdecl functions use the very
// struct layouts, enum values and version macros a C caller compiles against: the two
// cannot drift apart. Also the few constant C strings the API hands out (static storage,
// so their pointers stay valid for the life of the process).
#ifndef ELMO_CELMOABI_SHIM_H
#define ELMO_CELMOABI_SHIM_H
#include "../../include/elmo.h"

static inline const char *elmo_abi_version_string(void) { return ELMO_VERSION_STRING; }

static inline const char *elmo_abi_empty_string(void) { return ""; }

static inline const char *elmo_abi_status_name(int status) {
    switch (status) {
    case ELMO_OK: return "ELMO_OK";
    case ELMO_ERR_INVALID_ARGUMENT: return "ELMO_ERR_INVALID_ARGUMENT";
    case ELMO_ERR_INVALID_INPUT: return "ELMO_ERR_INVALID_INPUT";
    case ELMO_ERR_IO: return "ELMO_ERR_IO";
    case ELMO_ERR_INVALID_MODEL: return "ELMO_ERR_INVALID_MODEL";
    case ELMO_ERR_SHAPE_MISMATCH: return "ELMO_ERR_SHAPE_MISMATCH";
    case ELMO_ERR_LIMIT_EXCEEDED: return "ELMO_ERR_LIMIT_EXCEEDED";
    case ELMO_ERR_OUT_OF_MEMORY: return "ELMO_ERR_OUT_OF_MEMORY";
    case ELMO_ERR_BUFFER_TOO_SMALL: return "ELMO_ERR_BUFFER_TOO_SMALL";
    case ELMO_ERR_SESSION_BUSY: return "ELMO_ERR_SESSION_BUSY";
    case ELMO_ERR_INTERNAL: return "ELMO_ERR_INTERNAL";
    default: return "unknown status";
    }
}
#endif
