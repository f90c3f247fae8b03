"""The ctypes declarations against include/elmo.h: every function, every struct layout,
every enum value, the defaults the library fills in, and status checking."""

import ctypes
import os
import re
import shutil
import subprocess
import threading

import pytest

import elmo
from elmo import _lib, errors

from conftest import HEADER


def header_text():
    if not os.path.isfile(HEADER):
        pytest.skip(f"{HEADER} not found (tests run from the libelmo repository)")
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def header_functions():
    """Names of the functions elmo.h declares (not the static inline helpers)."""
    text = re.sub(r"/\*.*?\*/", "", header_text(), flags=re.S)
    names = re.findall(r"^(?!static)[A-Za-z_][A-Za-z_ ]*[ *](elmo_[a-z0-9_]+)\(", text, flags=re.M)
    return sorted(set(names))


def test_every_header_function_is_declared_once():
    declared = [name for name, *_ in _lib.FUNCTIONS]
    assert len(declared) == len(set(declared))
    assert sorted(declared) == header_functions()


def test_every_function_has_types_and_status_check():
    lib = _lib.load()
    for name, restype, argtypes, checked in _lib.FUNCTIONS:
        function = getattr(lib, name)
        assert function.restype is restype, name
        assert list(function.argtypes) == list(argtypes), name
        assert (function.errcheck is not None) == checked, name
        # Every function returning elmo_status is checked; the three returning strings are not.
        assert checked == (restype is _lib.c_status), name


def test_argument_counts_match_the_header():
    text = re.sub(r"/\*.*?\*/", "", header_text(), flags=re.S)
    for name, _, argtypes, _ in _lib.FUNCTIONS:
        match = re.search(r"\b" + name + r"\(([^)]*)\)", text)
        assert match, name
        params = match.group(1).strip()
        count = 0 if params in ("", "void") else params.count(",") + 1
        assert count == len(argtypes), name


def test_enum_values_match_the_header():
    text = header_text()
    for name, value in errors.STATUS_NAMES.items():
        assert re.search(rf"\b{value}\s*=\s*{name}\b", text), value
    for constant, value in (("ELMO_OUTPUT_ALL_LAYERS", _lib.OUTPUT_ALL_LAYERS), ("ELMO_OUTPUT_WORD_EMB", _lib.OUTPUT_WORD_EMB),
                            ("ELMO_OUTPUT_LSTM", _lib.OUTPUT_LSTM), ("ELMO_OUTPUT_ELMO", _lib.OUTPUT_ELMO),
                            ("ELMO_OUTPUT_DEFAULT", _lib.OUTPUT_DEFAULT), ("ELMO_PRECISION_FP32", _lib.PRECISION_FP32),
                            ("ELMO_PRECISION_BF16", _lib.PRECISION_BF16), ("ELMO_PRECISION_INT8", _lib.PRECISION_INT8)):
        assert re.search(rf"\b{constant}\s*=\s*{value}\b", text), constant


def test_max_axes_matches_the_header():
    assert re.search(rf"#define ELMO_OUTPUT_MAX_AXES {_lib.OUTPUT_MAX_AXES}\b", header_text())


STRUCTS = {
    "elmo_model_params": _lib.ModelParams,
    "elmo_session_params": _lib.SessionParams,
    "elmo_output_params": _lib.OutputParams,
}


def test_struct_layouts_match_the_c_compiler(tmp_path):
    """sizeof and offsetof of every field as a C compiler sees elmo.h, against ctypes."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to read the header's struct layouts")
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "elmo.h"', "int main(void) {"]
    for cname, struct in STRUCTS.items():
        lines.append(f'    printf("{cname} sizeof %zu\\n", sizeof({cname}));')
        for field, _ in struct._fields_:
            lines.append(f'    printf("{cname} {field} %zu %zu\\n", offsetof({cname}, {field}), '
                         f'sizeof((({cname} *)0)->{field}));')
    lines += ["    return 0;", "}"]
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines) + "\n")
    program = tmp_path / "layout"
    subprocess.run([compiler, "-std=c99", "-Wall", "-I", os.path.dirname(HEADER), str(source), "-o", str(program)],
                   check=True)
    output = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout.split("\n")
    seen = 0
    for line in filter(None, output):
        parts = line.split()
        struct = STRUCTS[parts[0]]
        if parts[1] == "sizeof":
            assert ctypes.sizeof(struct) == int(parts[2]), line
        else:
            descriptor = getattr(struct, parts[1])
            assert (descriptor.offset, descriptor.size) == (int(parts[2]), int(parts[3])), line
        seen += 1
    assert seen == sum(1 + len(s._fields_) for s in STRUCTS.values())
    # The C header's fields, in order, are exactly the ctypes fields.
    text = header_text()
    for cname, struct in STRUCTS.items():
        body = re.search(r"typedef struct " + cname + r" \{(.*?)\} " + cname + ";", text, flags=re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        fields = re.findall(r"([A-Za-z_][A-Za-z_0-9]*)\s*;", body)
        assert fields == [f for f, _ in struct._fields_], cname


def test_library_accepts_our_struct_sizes_and_fills_defaults():
    model = _lib.model_params()
    assert model.struct_size == ctypes.sizeof(_lib.ModelParams)
    assert model.options_path is None
    assert (model.precision, model.reserved) == (_lib.PRECISION_FP32, 0)
    session = _lib.session_params()
    assert session.struct_size == ctypes.sizeof(_lib.SessionParams)
    assert (session.stateful, session.max_sentences, session.max_tokens_per_sentence, session.max_tokens_per_call) \
        == (0, 16384, 65536, 65536)
    output = _lib.output_params()
    assert output.struct_size == ctypes.sizeof(_lib.OutputParams)
    assert (output.kind, output.lstm_layer, bool(output.mix_weights), output.mix_weight_count, output.mix_gamma,
            output.mix_layer_norm) == (_lib.OUTPUT_ELMO, 1, False, 0, 1.0, 0)
    assert (output.sentence_boundaries, output.reserved) == (0, 0)


def test_params_init_refuses_an_unknown_size_with_the_library_message():
    params = _lib.OutputParams()
    with pytest.raises(elmo.InvalidArgumentError) as info:
        # 8 bytes short of 0.1's struct (sizeof - 8 is 0.1's own size since 0.2 appended two ints)
        _lib.load().elmo_output_params_init(ctypes.byref(params), ctypes.sizeof(params) - 16)
    assert info.value.status == errors.ERR_INVALID_ARGUMENT
    assert info.value.status_name == "ELMO_ERR_INVALID_ARGUMENT"
    assert "elmo_output_params_init" in info.value.message
    assert "struct_size" in info.value.message
    assert info.value.message == _lib.last_error()


def test_version_and_status_strings():
    match = re.search(r'#define ELMO_VERSION_STRING "([^"]+)"', header_text())
    assert _lib.version() == match.group(1)
    assert tuple(int(x) for x in _lib.version().split(".")) == _lib.HEADER_VERSION
    for code, name in errors.STATUS_NAMES.items():
        assert _lib.status_string(code) == name
    assert _lib.status_string(99) == "unknown status"
    assert _lib.status_string(-1) == "unknown status"


def test_every_status_maps_to_its_exception_class():
    for code, name in errors.STATUS_NAMES.items():
        if code == errors.OK:
            continue
        error = errors.error_for_status(code, "message")
        assert isinstance(error, elmo.ElmoError)
        assert error.status == code and error.status_name == name
        assert str(error) == f"message [{name}]"
        assert type(error).default_status == code
    assert type(errors.error_for_status(42, "m")) is elmo.ElmoError


def test_null_arguments_are_reported_not_crashed():
    lib = _lib.load()
    with pytest.raises(elmo.InvalidArgumentError, match="elmo_model_load: path is NULL"):
        lib.elmo_model_load(None, None, ctypes.byref(_lib.ModelPointer()))
    with pytest.raises(elmo.InvalidArgumentError):
        lib.elmo_model_token_dim(None, ctypes.byref(ctypes.c_size_t()))
    with pytest.raises(elmo.InvalidArgumentError):
        lib.elmo_session_reset(None)
    # NULL is a no-op for the free functions.
    assert lib.elmo_model_free(None) == 0
    assert lib.elmo_session_free(None) == 0


def test_last_error_is_per_thread():
    lib = _lib.load()
    with pytest.raises(elmo.ElmoError):
        lib.elmo_session_reset(None)
    main_message = _lib.last_error()
    seen = []

    def other():
        seen.append(_lib.last_error())
        try:
            lib.elmo_model_output_dim(None, ctypes.byref(ctypes.c_size_t()))
        except elmo.ElmoError as error:
            seen.append(error.message)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen[0] == ""
    assert seen[1].startswith("elmo_model_output_dim")
    assert _lib.last_error() == main_message


def test_handles_are_typed():
    """A session handle cannot be passed where a model handle is expected (ctypes refuses it)."""
    lib = _lib.load()
    session = _lib.SessionPointer()
    with pytest.raises(ctypes.ArgumentError):
        lib.elmo_model_free(session)
