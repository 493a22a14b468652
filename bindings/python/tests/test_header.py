"""The public header as an FFI generator reads it: `cc -E -P -DBN_API=` with
stand-ins for the system headers, parsed by cffi. Its struct layouts, enum
values and function signatures must be the bindings' (bitnet/_ffi.py)."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import bitnet
from bitnet import _ffi

cffi = pytest.importorskip("cffi", reason="python3-cffi is not installed")

HERE = Path(__file__).parent
SOURCE_ROOT = HERE.parents[2]


def preprocess(source: str) -> str:
    """`cc -E -P -DBN_API=` of source, the system headers replaced by stand-ins."""
    cc = os.environ.get("BITNET_CC") or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler (cc) to preprocess the header")
    include = Path(os.environ.get("BITNET_INCLUDE", SOURCE_ROOT / "include"))
    return subprocess.run(
        [cc, "-E", "-P", "-DBN_API=", "-nostdinc", "-I", str(HERE / "ffi_include"),
         "-I", str(include), "-x", "c", "-"],
        input=source, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def ffi() -> Any:
    text = preprocess("#include <bitnet/bitnet.h>\n")
    assert "bn_model_load" in text and "_Static_assert" not in text
    f = cffi.FFI()
    f.cdef(text)        # must accept it as it is
    return f


STRUCTS = {"bn_model_params": _ffi.ModelParams, "bn_ctx_params": _ffi.CtxParams,
           "bn_sampler_params": _ffi.SamplerParams, "bn_spec_params": _ffi.SpecParams,
           "bn_spec_stats": _ffi.SpecStats}


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_struct_layout(ffi: Any, name: str) -> None:
    cls = STRUCTS[name]
    assert ffi.sizeof(name) == ctypes.sizeof(cls)
    header_fields = [f for f, _ in ffi.typeof(name).fields]
    assert header_fields == [f[0] for f in cls._fields_]
    for field in header_fields:
        assert ffi.offsetof(name, field) == getattr(cls, field).offset, field


def test_struct_sizes_are_the_documented_ones(ffi: Any) -> None:
    ptr = ctypes.sizeof(ctypes.c_void_p)
    assert ffi.sizeof("bn_model_params") == 16 + 2 * ptr + 96
    assert ffi.sizeof("bn_ctx_params") == 128
    assert ffi.sizeof("bn_sampler_params") == 120
    assert ffi.sizeof("bn_spec_params") == 128
    assert ffi.sizeof("bn_spec_stats") == 64


def test_macros() -> None:
    # macros are gone after preprocessing: ask the preprocessor for them
    lines = preprocess("#include <bitnet/bitnet.h>\nBN_POS_NEXT\n").strip().splitlines()
    assert eval(lines[-1]) == bitnet.POS_NEXT


ENUMS = {"enum bn_status": (bitnet.Status, "BN_"), "enum bn_kv_type": (bitnet.KvType, "BN_KV_"),
         "enum bn_tokenize_flags": (bitnet.TokenizeFlags, "BN_TOKENIZE_"),
         "enum bn_detokenize_flags": (bitnet.DetokenizeFlags, "BN_DETOKENIZE_")}


@pytest.mark.parametrize("enum", sorted(ENUMS))
def test_enum_values(ffi: Any, enum: str) -> None:
    cls, prefix = ENUMS[enum]
    header = dict(ffi.typeof(enum).relements)
    ours = {prefix + m.name: int(m.value) for m in cls}
    assert ours == header       # every value, none missing, none extra


def test_every_status_has_an_exception(ffi: Any) -> None:
    from bitnet import errors
    for name, value in ffi.typeof("enum bn_status").relements.items():
        if value != 0:
            assert value in errors.ERRORS, f"{name} has no exception class"


def _kind(ctype: Any) -> tuple[str, int]:
    """(kind, size) of a ctypes type, as the comparison with cffi needs it."""
    if ctype is None:
        return ("void", 0)
    if ctype in (ctypes.c_char_p, ctypes.c_void_p) or hasattr(ctype, "_type_") and \
            issubclass(ctype, ctypes._Pointer) or getattr(ctype, "_flags_", 0) & 1:
        return ("pointer", ctypes.sizeof(ctypes.c_void_p))
    if ctype in (ctypes.c_float, ctypes.c_double):
        return ("float", ctypes.sizeof(ctype))
    return ("int", ctypes.sizeof(ctype))


def _ffi_kind(ffi: Any, t: Any) -> tuple[str, int]:
    if t.kind == "void":
        return ("void", 0)
    if t.kind in ("pointer", "function"):
        return ("pointer", ffi.sizeof("void *"))
    if t.kind == "primitive" and t.cname in ("float", "double"):
        return ("float", ffi.sizeof(t))
    return ("int", ffi.sizeof(t))


def test_function_signatures(ffi: Any) -> None:
    lib = ffi.dlopen(bitnet.load_library()._name)
    for name, (restype, argtypes) in _ffi.PROTOTYPES.items():
        t = ffi.typeof(getattr(lib, name))
        assert _ffi_kind(ffi, t.result) == _kind(restype), f"{name}: return type"
        assert [_ffi_kind(ffi, a) for a in t.args] == [_kind(a) for a in argtypes], name
