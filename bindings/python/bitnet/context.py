"""Context: one sequence on a model (KV cache, threads), decode and logits."""
from __future__ import annotations

import ctypes
import weakref
from typing import TYPE_CHECKING, Optional, Sequence, Union

from . import _ffi
from ._ffi import KvType
from ._owner import Handle, Owner
from .errors import check
from .model import Model, _tokens_array

try:
    import numpy
except ImportError:     # numpy is optional: logits are then lists of floats
    numpy = None        # type: ignore[assignment]

if TYPE_CHECKING:
    import numpy.typing as npt
    #: Logits: a read-only float32 array over the context's memory (zero-copy)
    #: with numpy, else a list of floats.
    Logits = Union[npt.NDArray[numpy.float32], list[float]]


def have_numpy() -> bool:
    """True when logits come as numpy arrays."""
    return numpy is not None


class Context(Owner):
    """An inference context: one sequence, its KV cache and worker threads.
    Several contexts on one model may run on different threads at once; one
    context is used by one thread at a time.

    n_ctx: tokens of history (0 = the model's training context);
    n_batch: most tokens one decode() takes; n_threads: 0 = all CPUs;
    kv_type: KvType.F16 or KvType.F32; logits_all: keep every token's logits.
    """

    _what = "context"

    def __init__(self, model: Model, *, n_ctx: int = 0, n_batch: Optional[int] = None,
                 n_threads: int = 0, kv_type: Union[KvType, int] = KvType.F16,
                 logits_all: bool = False) -> None:
        lib = _ffi.lib()
        p = _ffi.CtxParams()
        lib.bn_ctx_params_default(ctypes.byref(p))
        p.n_ctx = n_ctx
        if n_batch is not None:
            p.n_batch = n_batch
        p.n_threads = n_threads
        p.kv_type = int(kv_type)
        p.logits_all = int(logits_all)
        parent = model._owned
        out = ctypes.c_void_p()
        check(lib.bn_ctx_new(ctypes.byref(out), parent.ptr, ctypes.byref(p)))
        assert out.value is not None
        self._own(Handle(out.value, lib.bn_ctx_free, parent=parent))
        self._lib = lib
        self._model = model
        self._model_ptr = parent.ptr
        self._n_vocab = int(lib.bn_model_n_vocab(parent.ptr))

    def __repr__(self) -> str:
        if self.closed:
            return "<bitnet.Context (closed)>"
        return f"<bitnet.Context {self.pos}/{self.n_ctx} tokens>"

    @property
    def model(self) -> Model:
        """The model the context was made on."""
        return self._model

    @property
    def n_vocab(self) -> int:
        """Logits per token (the model's vocabulary size)."""
        return self._n_vocab

    @property
    def pos(self) -> int:
        """Tokens in the sequence (the position of the next one)."""
        return int(self._lib.bn_ctx_pos(self._ptr))

    @property
    def n_ctx(self) -> int:
        """Tokens of history the context holds."""
        return int(self._lib.bn_ctx_n_ctx(self._ptr))

    @property
    def n_batch(self) -> int:
        """Most tokens one decode() call takes."""
        return int(self._lib.bn_ctx_n_batch(self._ptr))

    @property
    def n_threads(self) -> int:
        """Threads that compute."""
        return int(self._lib.bn_ctx_n_threads(self._ptr))

    def decode(self, tokens: Sequence[int]) -> None:
        """Feeds tokens at the next positions (at most n_batch of them; see
        feed() for more). Raises RangeError for a token outside the
        vocabulary, BatchError, ContextFullError; the context is then
        unchanged. Other threads run while it computes (no GIL is held)."""
        check(self._lib.bn_decode(self._ptr, _tokens_array(tokens), len(tokens)))

    def feed(self, tokens: Sequence[int]) -> None:
        """decode() in batches of n_batch tokens: any number of them."""
        nb = self.n_batch
        for i in range(0, len(tokens), nb):
            self.decode(tokens[i:i + nb])
        if not tokens:
            self.decode(tokens)     # the library's error for an empty batch

    def truncate(self, pos: int) -> None:
        """Rewinds the sequence to its first `pos` tokens."""
        check(self._lib.bn_ctx_truncate(self._ptr, pos))

    def logits_pointer(self, i: int = -1) -> "ctypes._Pointer[ctypes.c_float]":
        """The C pointer to token i's logits of the last batch; ValueError
        when there are none (nothing decoded, or i not kept)."""
        ptr = self._lib.bn_ctx_logits_ith(self._ptr, i)
        if not ptr:
            raise ValueError(f"no logits for token {i} of the last batch (nothing decoded yet, "
                             "or logits_all is off)")
        return ptr  # type: ignore[no-any-return]

    def logits(self, i: int = -1, *, copy: bool = False) -> "Logits":
        """The logits of token i of the last batch (-1 = the last), n_vocab
        floats. With numpy: a read-only float32 array over the context's own
        memory (no copy; the C context lives as long as the array, and the
        next decode() or truncate() overwrites it), or a copy with copy=True. Without numpy:
        a list of floats."""
        ptr = self.logits_pointer(i)
        n = self._n_vocab
        if numpy is None:
            return list(ptr[:n])
        buf = (ctypes.c_float * n).from_address(ctypes.addressof(ptr.contents))
        # The array owns a reference to the C context: close() cannot free
        # the memory under it.
        handle = self._handle
        assert handle is not None
        handle.retain()
        weakref.finalize(buf, handle.release)
        arr: npt.NDArray[numpy.float32] = numpy.frombuffer(memoryview(buf), dtype=numpy.float32)
        if copy:
            return arr.copy()
        arr.flags.writeable = False
        return arr
