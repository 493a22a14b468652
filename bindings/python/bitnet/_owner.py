"""Ownership of C objects: each is freed exactly once, and never before the
objects that use it (a context keeps its model alive even when the Model
object was closed or collected first). Owner is the base of the Python
objects: close(), context manager, and a finalizer for objects nobody closed."""
from __future__ import annotations

import ctypes
import threading
import weakref
from types import TracebackType
from typing import Any, Callable, Optional, Sequence, TypeVar

_T = TypeVar("_T", bound="Owner")


class Handle:
    """A C object with a count of owners: the Python object that made it, and
    every handle made on it (a model's contexts, samplers, text streams; a
    thread pool's contexts). When the count reaches zero, the free function
    runs, then the parents are released. Thread-safe."""

    def __init__(self, ptr: int, free: Callable[[Any], None],
                 parents: Sequence[Handle] = (), keep: Any = None) -> None:
        self._ptr: Optional[int] = ptr
        self._free = free
        self._refs = 1
        self._lock = threading.Lock()
        self._parents = list(parents)
        self._keep = keep           # e.g. the bytes a model was loaded from
        for parent in self._parents:
            parent.retain()

    @property
    def ptr(self) -> int:
        p = self._ptr
        if p is None:
            raise ValueError("the object was freed")
        return p

    @property
    def alive(self) -> bool:
        return self._ptr is not None

    def retain(self) -> None:
        with self._lock:
            if self._ptr is None:
                raise ValueError("the object was freed")
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            if self._refs > 0 or self._ptr is None:
                return
            p = ctypes.c_void_p(self._ptr)
            self._ptr = None
        self._free(ctypes.byref(p))
        self._keep = None
        parents, self._parents = self._parents, []
        for parent in parents:
            parent.release()


class Owner:
    """Owns one reference to a Handle; close() (or leaving a `with` block, or
    garbage collection) gives it up. Using the object after close() raises
    ValueError, as a closed file does."""

    _handle: Optional[Handle] = None
    _what = "object"

    def _own(self, handle: Handle) -> None:
        self._handle = handle
        self._finalizer = weakref.finalize(self, handle.release)

    @property
    def _ptr(self) -> int:
        h = self._handle
        if h is None or not self._finalizer.alive:
            raise ValueError(f"the {self._what} is closed")
        return h.ptr

    @property
    def closed(self) -> bool:
        """True once close() was called (the C object may live on while
        others use it)."""
        return self._handle is None or not self._finalizer.alive

    def close(self) -> None:
        """Gives up this object's C resources. Safe to call more than once."""
        if self._handle is not None:
            self._finalizer()

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()


def create(make: Callable[..., int], free: Callable[[Any], None], *args: Any,
           parents: Sequence[Handle] = (), keep: Any = None) -> Handle:
    """Calls a bn_*_new-style function (make(&out, *args)) and owns its result;
    raises the error of a failed call."""
    from .errors import check
    out = ctypes.c_void_p()
    check(make(ctypes.byref(out), *args))
    assert out.value is not None
    return Handle(out.value, free, parents, keep)

