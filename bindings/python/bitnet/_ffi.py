"""The C ABI of libbitnet as ctypes sees it: finding and loading the library,
the parameter structs, constants and function prototypes.

Written for ABI 0.2 (include/bitnet/bitnet.h). The constants and struct
layouts are copied from the header; tests/test_header.py parses the header
with cffi and checks every one of them, so a change there fails the tests.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import enum
import os
import threading
from typing import Any, Optional

# The ABI these bindings were written for: the loaded library must have the
# same major and at least this minor (what bn_version_api() is for).
API_MAJOR = 0
API_MINOR = 2

#: Environment variable naming the library file to load.
LIBRARY_ENV = "BITNET_LIBRARY"


class Status(enum.IntEnum):
    """enum bn_status: the values never change; new ones are only added."""
    OK = 0
    E_INVALID_ARG = -1
    E_NOMEM = -2
    E_IO = -3
    E_FORMAT = -4
    E_UNSUPPORTED = -5
    E_MODEL = -6
    E_NOT_FOUND = -7
    E_RANGE = -8
    E_CTX_FULL = -9
    E_BATCH = -10
    E_CANCELLED = -11
    E_UTF8 = -12
    E_INTERNAL = -13


class KvType(enum.IntEnum):
    """enum bn_kv_type: element type of the KV cache."""
    F16 = 0
    F32 = 1


class TokenizeFlags(enum.IntFlag):
    """enum bn_tokenize_flags."""
    ADD_SPECIAL = 1 << 0
    PARSE_SPECIAL = 1 << 1


class DetokenizeFlags(enum.IntFlag):
    """enum bn_detokenize_flags."""
    SPECIAL = 1 << 0


# ---- parameter structs (sizes fixed by static assertions in the header) ------

PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_float, ctypes.c_void_p)
ABORT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)

#: bn_batch_add()'s position for "the sequence's next one" (BN_POS_NEXT).
POS_NEXT = -1


class ModelParams(ctypes.Structure):
    """bn_model_params."""
    _fields_ = [
        ("use_mmap", ctypes.c_int32),
        ("check_weights", ctypes.c_int32),
        ("progress", PROGRESS_FN),
        ("progress_user_data", ctypes.c_void_p),
        ("cpu_level_cap", ctypes.c_int32),
        ("output_q8", ctypes.c_int32),
        ("output_q4", ctypes.c_int32),          # 0.2
        ("reserved", ctypes.c_uint8 * 92),
    ]


class CtxParams(ctypes.Structure):
    """bn_ctx_params."""
    _fields_ = [
        ("n_ctx", ctypes.c_int32),
        ("n_batch", ctypes.c_int32),
        ("n_threads", ctypes.c_int32),
        ("kv_type", ctypes.c_int32),
        ("logits_all", ctypes.c_int32),
        ("n_seq_max", ctypes.c_int32),          # 0.2
        ("n_outputs_max", ctypes.c_int32),      # 0.2
        ("reserved", ctypes.c_uint8 * 100),
    ]


class SamplerParams(ctypes.Structure):
    """bn_sampler_params."""
    _fields_ = [
        ("temperature", ctypes.c_float),
        ("top_k", ctypes.c_int32),
        ("top_p", ctypes.c_float),
        ("min_p", ctypes.c_float),
        ("repeat_penalty", ctypes.c_float),
        ("frequency_penalty", ctypes.c_float),
        ("presence_penalty", ctypes.c_float),
        ("penalty_last_n", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
        ("reserved", ctypes.c_uint8 * 80),
    ]


class SpecParams(ctypes.Structure):
    """bn_spec_params (ABI 0.2)."""
    _fields_ = [
        ("n_draft_max", ctypes.c_int32),
        ("ngram_min", ctypes.c_int32),
        ("ngram_max", ctypes.c_int32),
        ("draft_cost", ctypes.c_float),
        ("reserved", ctypes.c_uint8 * 112),
    ]


class SpecStats(ctypes.Structure):
    """bn_spec_stats (ABI 0.2)."""
    _fields_ = [
        ("n_steps", ctypes.c_int64),
        ("n_drafted", ctypes.c_int64),
        ("n_accepted", ctypes.c_int64),
        ("n_tokens", ctypes.c_int64),
        ("reserved", ctypes.c_uint8 * 32),
    ]


# ---- prototypes ----------------------------------------------------------------

_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_i32 = ctypes.c_int32
_int = ctypes.c_int
_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_size = ctypes.c_size_t
_psize = ctypes.POINTER(ctypes.c_size_t)
_str = ctypes.c_char_p
_ptok = ctypes.POINTER(ctypes.c_int32)
_pfloat = ctypes.POINTER(ctypes.c_float)
_pstr = ctypes.POINTER(ctypes.c_char_p)

# name: (restype, argtypes). Functions up to ABI 0.2, all required.
PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "bn_strerror": (_str, [_int]),
    "bn_last_error": (_str, []),
    "bn_version_string": (_str, []),
    "bn_version_api": (_u32, []),
    "bn_model_params_default": (None, [ctypes.POINTER(ModelParams)]),
    "bn_model_load": (_int, [_pp, _str, ctypes.POINTER(ModelParams)]),
    "bn_model_load_from_memory": (_int, [_pp, _p, _size, ctypes.POINTER(ModelParams)]),
    "bn_model_free": (None, [_pp]),
    "bn_model_arch_name": (_str, [_p]),
    "bn_model_name": (_str, [_p]),
    "bn_model_weight_type_name": (_str, [_p]),
    "bn_model_n_vocab": (_i32, [_p]),
    "bn_model_n_embd": (_i32, [_p]),
    "bn_model_n_layer": (_i32, [_p]),
    "bn_model_n_head": (_i32, [_p]),
    "bn_model_n_head_kv": (_i32, [_p]),
    "bn_model_n_ff": (_i32, [_p]),
    "bn_model_n_ctx_train": (_i32, [_p]),
    "bn_model_n_params": (_u64, [_p]),
    "bn_model_weight_bytes": (_u64, [_p]),
    "bn_model_bytes_per_token": (_u64, [_p]),
    "bn_model_kernel_name": (_str, [_p]),
    "bn_model_meta_count": (_i32, [_p]),
    "bn_model_meta_key_by_index": (_i32, [_p, _i32, ctypes.c_char_p, _size]),
    "bn_model_meta_string": (_i32, [_p, _str, ctypes.c_char_p, _size]),
    "bn_ctx_params_default": (None, [ctypes.POINTER(CtxParams)]),
    "bn_ctx_new": (_int, [_pp, _p, ctypes.POINTER(CtxParams)]),
    "bn_ctx_free": (None, [_pp]),
    "bn_decode": (_int, [_p, _ptok, _size]),
    "bn_ctx_logits": (_pfloat, [_p]),
    "bn_ctx_logits_ith": (_pfloat, [_p, _i32]),
    "bn_ctx_pos": (_i32, [_p]),
    "bn_ctx_truncate": (_int, [_p, _i32]),
    "bn_ctx_n_ctx": (_i32, [_p]),
    "bn_ctx_n_batch": (_i32, [_p]),
    "bn_ctx_n_threads": (_i32, [_p]),
    "bn_ctx_model": (_p, [_p]),
    "bn_tokenize": (_int, [_p, ctypes.c_char_p, _size, _ptok, _size, _u32, _psize]),
    "bn_token_to_piece": (_int, [_p, _i32, ctypes.c_char_p, _size, _u32, _psize]),
    "bn_detokenize": (_int, [_p, _ptok, _size, ctypes.c_char_p, _size, _u32, _psize]),
    "bn_model_token_bos": (_i32, [_p]),
    "bn_model_token_eos": (_i32, [_p]),
    "bn_model_token_eot": (_i32, [_p]),
    "bn_model_token_pad": (_i32, [_p]),
    "bn_model_token_is_eog": (_int, [_p, _i32]),
    "bn_sampler_params_default": (None, [ctypes.POINTER(SamplerParams)]),
    "bn_sampler_new": (_int, [_pp, _p, ctypes.POINTER(SamplerParams)]),
    "bn_sampler_free": (None, [_pp]),
    "bn_sampler_sample": (_int, [_p, _pfloat, _ptok]),
    "bn_sampler_accept": (_int, [_p, _i32]),
    "bn_sampler_reset": (None, [_p]),
    "bn_text_stream_new": (_int, [_pp, _p, _pstr, _size]),
    "bn_text_stream_free": (None, [_pp]),
    "bn_text_stream_push": (_int, [_p, _i32, ctypes.POINTER(ctypes.c_void_p), _psize,
                                   ctypes.POINTER(ctypes.c_int)]),
    "bn_text_stream_flush": (_int, [_p, ctypes.POINTER(ctypes.c_void_p), _psize]),
    "bn_chat_template_for_model": (_int, [_pp, _p]),
    "bn_chat_template_builtin": (_int, [_pp, _str]),
    "bn_chat_template_new": (_int, [_pp]),
    "bn_chat_template_set_role": (_int, [_p, _str, _str, _str]),
    "bn_chat_template_set_begin": (_int, [_p, _str]),
    "bn_chat_template_set_generation_prompt": (_int, [_p, _str]),
    "bn_chat_template_free": (None, [_pp]),
    "bn_chat_template_name": (_str, [_p]),
    "bn_chat_format": (_int, [_p, _pstr, _pstr, _size, _int, ctypes.c_char_p, _size, _psize]),
    # 0.2
    "bn_chat_tokenize": (_int, [_p, _p, _pstr, _pstr, _size, _int, _ptok, _size, _psize]),
    "bn_batch_new": (_int, [_pp, _i32]),
    "bn_batch_free": (None, [_pp]),
    "bn_batch_clear": (None, [_p]),
    "bn_batch_add": (_int, [_p, _i32, _i32, _i32, _int]),
    "bn_batch_n_tokens": (_i32, [_p]),
    "bn_decode_batch": (_int, [_p, _p]),
    "bn_ctx_batch_logits": (_pfloat, [_p, _i32]),
    "bn_ctx_seq_logits": (_pfloat, [_p, _i32]),
    "bn_ctx_n_seq_max": (_i32, [_p]),
    "bn_ctx_seq_pos": (_i32, [_p, _i32]),
    "bn_ctx_seq_clear": (_int, [_p, _i32]),
    "bn_ctx_seq_truncate": (_int, [_p, _i32, _i32]),
    "bn_ctx_seq_copy": (_int, [_p, _i32, _i32, _i32]),
    "bn_ctx_seq_keep": (_int, [_p, _i32]),
    "bn_ctx_seq_state_size": (_size, [_p, _i32]),
    "bn_ctx_seq_state_save": (_int, [_p, _i32, _p, _size, _psize]),
    "bn_ctx_seq_state_load": (_int, [_p, _i32, _p, _size]),
    "bn_ctx_seq_state_save_file": (_int, [_p, _i32, _str]),
    "bn_ctx_seq_state_load_file": (_int, [_p, _i32, _str]),
    "bn_ctx_set_abort_callback": (_int, [_p, ABORT_FN, _p]),
    "bn_threadpool_new": (_int, [_pp, _i32]),
    "bn_threadpool_free": (None, [_pp]),
    "bn_threadpool_n_threads": (_i32, [_p]),
    "bn_ctx_new_with_pool": (_int, [_pp, _p, ctypes.POINTER(CtxParams), _p]),
    "bn_sampler_probs": (_int, [_p, _pfloat, _ptok, _pfloat, _size, _psize]),
    "bn_spec_params_default": (None, [ctypes.POINTER(SpecParams)]),
    "bn_spec_new": (_int, [_pp, ctypes.POINTER(SpecParams)]),
    "bn_spec_free": (None, [_pp]),
    "bn_spec_begin": (_int, [_p, _ptok, _size]),
    "bn_spec_step": (_int, [_p, _p, _i32, _p, _ptok, _size, _psize]),
    "bn_spec_get_stats": (None, [_p, ctypes.POINTER(SpecStats)]),
    "bn_spec_draft": (_int, [_p, _p, _i32, _ptok, _size, _psize]),
    "bn_spec_accept": (_int, [_p, _p, _i32, _p, ctypes.POINTER(_pfloat), _ptok, _size, _ptok, _size, _psize]),
    "bn_spec_set_draft_model": (_int, [_p, _p, _i32, ctypes.c_float]),
}


class LibraryError(OSError):
    """The library cannot be found, loaded, or is of an incompatible ABI."""


def _candidates(path: Optional[str]) -> list[str]:
    if path:
        return [path]
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return [env]
    names = [f"libbitnet.so.{API_MAJOR}", "libbitnet.dylib", "bitnet.dll"]
    found = ctypes.util.find_library("bitnet")
    return ([found] if found else []) + names


def open_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libbitnet (from `path`, else $BITNET_LIBRARY, else the system
    loader's search), checks its ABI version and declares its functions."""
    errors = []
    for name in _candidates(path):
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as e:
            errors.append(f"{name}: {e}")
    else:
        raise LibraryError("cannot load libbitnet (pass a path to bitnet.load_library() or "
                           f"set {LIBRARY_ENV}): " + "; ".join(errors))
    try:
        lib.bn_version_api.restype = ctypes.c_uint32
        lib.bn_version_api.argtypes = []
        api = int(lib.bn_version_api())
    except AttributeError:
        raise LibraryError(f"{name} is not libbitnet (no bn_version_api)") from None
    major, minor = api >> 16, (api >> 8) & 0xFF
    if major != API_MAJOR or minor < API_MINOR:
        raise LibraryError(f"{name} has ABI {major}.{minor}.{api & 0xFF}; these bindings need "
                           f"{API_MAJOR}.x with x >= {API_MINOR}")
    for fn, (restype, argtypes) in PROTOTYPES.items():
        try:
            f = getattr(lib, fn)
        except AttributeError:
            raise LibraryError(f"{name} lacks {fn} although its ABI is {major}.{minor}") from None
        f.restype = restype
        f.argtypes = argtypes
    return lib


_lib: Optional[ctypes.CDLL] = None
_lib_lock = threading.Lock()


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """The library every object of the package uses. The first call decides
    which file it is; call it with a path before anything else to choose."""
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = open_library(path)
        elif path is not None and getattr(_lib, "_name", None) != path:
            raise LibraryError(f"libbitnet is already loaded from {getattr(_lib, '_name', '?')}")
        return _lib


def lib() -> ctypes.CDLL:
    """The loaded library (loading it the default way on first use)."""
    return _lib if _lib is not None else load_library()
