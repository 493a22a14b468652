"""libbitnet from Python: run 1.58-bit (ternary) language models on CPUs.

A ctypes binding over the C library (no compiled extension). The library is
found, on first use, at the path given to load_library(), else at
$BITNET_LIBRARY, else by the system loader (libbitnet.so.0).

    import bitnet
    with bitnet.Model("models/default.gguf") as model:
        for text in model.generate("And God said", max_tokens=40, seed=42):
            print(text, end="", flush=True)

Errors raise a subclass of BitnetError per status code, with the library's
message (bn_last_error()). Objects free their C resources on close(), at the
end of a `with` block, or when collected; a model stays alive while a
context, sampler or stream made on it does.
"""
from ._ffi import (API_MAJOR, API_MINOR, POS_NEXT, DetokenizeFlags, KvType, LibraryError,
                   Status, TokenizeFlags, load_library)
from .batch import Batch
from .chat import ChatTemplate, Message
from .context import Context, have_numpy
from .errors import (BatchError, BitnetError, CancelledError, ContextFullError, FileError,
                     FormatError, InternalError, InvalidArgumentError, ModelError, NotFoundError,
                     OutOfMemoryError, RangeError, UnsupportedError, Utf8Error)
from .generate import chat, generate
from .model import Model
from .sampling import Sampler, TextStream
from .speculative import Speculative
from .threadpool import ThreadPool

__version__ = "0.2.0"


def version() -> str:
    """The release of the loaded library, e.g. "0.2.0"."""
    from . import _ffi
    return (_ffi.lib().bn_version_string() or b"").decode()


def api_version() -> tuple[int, int, int]:
    """The ABI version of the loaded library as (major, minor, patch)."""
    from . import _ffi
    v = int(_ffi.lib().bn_version_api())
    return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


__all__ = [
    "API_MAJOR", "API_MINOR", "POS_NEXT", "Batch", "BatchError", "BitnetError", "CancelledError", "ChatTemplate",
    "Context", "ContextFullError", "DetokenizeFlags", "FileError", "FormatError", "InternalError",
    "InvalidArgumentError", "KvType", "LibraryError", "Message", "Model", "ModelError",
    "NotFoundError", "OutOfMemoryError", "RangeError", "Sampler", "Speculative", "Status", "TextStream",
    "ThreadPool", "TokenizeFlags", "UnsupportedError", "Utf8Error", "api_version", "chat", "generate",
    "have_numpy", "load_library", "version",
]
