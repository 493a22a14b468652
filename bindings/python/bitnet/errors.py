"""One exception class per status code of libbitnet.

Every failing call raises the class of its status; the message is the
library's own (bn_last_error() of the calling thread, which says which key,
tensor or argument was wrong), and `status` holds the code.
"""
from __future__ import annotations

from typing import Optional

from . import _ffi
from ._ffi import Status


class BitnetError(Exception):
    """A libbitnet call failed. Base of every error the library reports."""

    status: int = -999

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message


class InvalidArgumentError(BitnetError, ValueError):
    """BN_E_INVALID_ARG: NULL handle, bad parameter value."""
    status = Status.E_INVALID_ARG


class OutOfMemoryError(BitnetError, MemoryError):
    """BN_E_NOMEM: memory allocation failed."""
    status = Status.E_NOMEM


class FileError(BitnetError, OSError):
    """BN_E_IO: the file could not be opened, read or mapped."""
    status = Status.E_IO


class FormatError(BitnetError):
    """BN_E_FORMAT: the file is not valid GGUF (truncated, corrupt, hostile)."""
    status = Status.E_FORMAT


class UnsupportedError(BitnetError):
    """BN_E_UNSUPPORTED: valid but not supported (GGUF version, tensor type, architecture)."""
    status = Status.E_UNSUPPORTED


class ModelError(BitnetError):
    """BN_E_MODEL: valid GGUF, inconsistent model (missing tensor, wrong shape, ...)."""
    status = Status.E_MODEL


class NotFoundError(BitnetError, LookupError):
    """BN_E_NOT_FOUND: no such metadata key or item."""
    status = Status.E_NOT_FOUND


class RangeError(BitnetError, IndexError):
    """BN_E_RANGE: an index or token id is out of range."""
    status = Status.E_RANGE


class ContextFullError(BitnetError):
    """BN_E_CTX_FULL: the sequence would exceed the context size."""
    status = Status.E_CTX_FULL


class BatchError(BitnetError, ValueError):
    """BN_E_BATCH: more tokens in one call than the context's batch size."""
    status = Status.E_BATCH


class CancelledError(BitnetError):
    """BN_E_CANCELLED: a progress callback asked to stop."""
    status = Status.E_CANCELLED


class Utf8Error(BitnetError, ValueError):
    """BN_E_UTF8: text is not valid UTF-8 where it must be."""
    status = Status.E_UTF8


class InternalError(BitnetError):
    """BN_E_INTERNAL: a bug in libbitnet; please report it."""
    status = Status.E_INTERNAL


#: The class raised for each status code (a code not listed raises BitnetError).
ERRORS: dict[int, type[BitnetError]] = {
    cls.status: cls for cls in (
        InvalidArgumentError, OutOfMemoryError, FileError, FormatError, UnsupportedError,
        ModelError, NotFoundError, RangeError, ContextFullError, BatchError, CancelledError,
        Utf8Error, InternalError)
}


def error(status: int) -> BitnetError:
    """The exception for a failed call, with the calling thread's last error."""
    lib = _ffi.lib()
    detail = (lib.bn_last_error() or b"").decode("utf-8", "replace")
    what = (lib.bn_strerror(status) or b"").decode("utf-8", "replace")
    message = f"{what}: {detail}" if detail else what
    return ERRORS.get(status, BitnetError)(message, status)


def check(status: int) -> int:
    """Raises the error of a negative status; returns the others unchanged."""
    if status < 0:
        raise error(status)
    return status
