"""Batch: tokens for Context.decode_batch(), each naming its sequence and
position (the multi-sequence API of ABI 0.2)."""
from __future__ import annotations

from . import _ffi
from ._ffi import POS_NEXT
from ._owner import Owner, create
from .errors import check


class Batch(Owner):
    """Up to n_max tokens, each for a sequence at a position (POS_NEXT = the
    sequence's next one), some asking for their logits. Plain caller-side
    data: used by one thread at a time, reusable after clear()."""

    _what = "batch"

    def __init__(self, n_max: int) -> None:
        lib = _ffi.lib()
        self._own(create(lib.bn_batch_new, lib.bn_batch_free, n_max))
        self._lib = lib

    def add(self, token: int, seq: int = 0, pos: int = POS_NEXT, *, logits: bool = False) -> None:
        """Appends a token; BatchError when the batch is full."""
        check(self._lib.bn_batch_add(self._ptr, token, seq, pos, int(logits)))

    def clear(self) -> None:
        """Removes every token (keeps the room)."""
        self._lib.bn_batch_clear(self._ptr)

    def __len__(self) -> int:
        return int(self._lib.bn_batch_n_tokens(self._ptr))
