"""ThreadPool: computing threads shared by contexts (ABI 0.2), so that several
contexts in one process do not oversubscribe the cores."""
from __future__ import annotations

from . import _ffi
from ._owner import Handle, Owner, create


class ThreadPool(Owner):
    """n_threads computing threads (0 = every online CPU). Contexts made with
    Context(..., pool=pool) run their passes on it, one pass at a time. The
    pool lives until its last context is freed, whatever the order of
    close() calls."""

    _what = "thread pool"

    def __init__(self, n_threads: int = 0) -> None:
        lib = _ffi.lib()
        self._own(create(lib.bn_threadpool_new, lib.bn_threadpool_free, n_threads))
        self._lib = lib

    @property
    def n_threads(self) -> int:
        """The pool's thread count."""
        return int(self._lib.bn_threadpool_n_threads(self._ptr))

    @property
    def _owned(self) -> Handle:
        self._ptr      # raises when closed
        assert self._handle is not None
        return self._handle
