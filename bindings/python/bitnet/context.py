"""Context: sequences on a model (KV cache, threads), decode and logits."""
from __future__ import annotations

import ctypes
import os
import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from . import _ffi
from ._ffi import KvType
from ._owner import Owner, create
from .batch import Batch
from .errors import check
from .model import Model, _tokens_array
from .threadpool import ThreadPool

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
    """An inference context: a sequence (or n_seq_max of them), its KV cache
    and worker threads. Several contexts on one model may run on different threads at once; one
    context is used by one thread at a time.

    n_ctx: tokens of history per sequence (0 = the model's training context);
    n_batch: most tokens one decode() takes; n_threads: 0 = all CPUs;
    kv_type: KvType.F16 or KvType.F32; logits_all: keep every token's logits;
    n_seq_max: sequences (decode_batch(), seq_*(); sequence 0 is the one
    decode() extends); n_outputs_max: most tokens of a batch asking for
    logits (0 = the library's default); pool: a ThreadPool to compute on
    instead of threads of the context's own.
    """

    _what = "context"

    def __init__(self, model: Model, *, n_ctx: int = 0, n_batch: Optional[int] = None,
                 n_threads: int = 0, kv_type: Union[KvType, int] = KvType.F16,
                 logits_all: bool = False, n_seq_max: int = 1, n_outputs_max: int = 0,
                 pool: Optional[ThreadPool] = None) -> None:
        lib = _ffi.lib()
        p = _ffi.CtxParams()
        lib.bn_ctx_params_default(ctypes.byref(p))
        p.n_ctx = n_ctx
        if n_batch is not None:
            p.n_batch = n_batch
        p.n_threads = n_threads
        p.kv_type = int(kv_type)
        p.logits_all = int(logits_all)
        p.n_seq_max = n_seq_max
        p.n_outputs_max = n_outputs_max
        parent = model._owned
        if pool is None:
            self._own(create(lib.bn_ctx_new, lib.bn_ctx_free, parent.ptr, ctypes.byref(p),
                             parents=[parent]))
        else:
            self._own(create(lib.bn_ctx_new_with_pool, lib.bn_ctx_free, parent.ptr,
                             ctypes.byref(p), pool._owned.ptr, parents=[parent, pool._owned]))
        self._lib = lib
        self._model = model
        self._n_vocab = int(lib.bn_model_n_vocab(parent.ptr))
        self._abort: Optional[Any] = None               # the C callback, kept alive
        self._abort_raised: list[BaseException] = []

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
        self._check_abort(self._lib.bn_decode(self._ptr, _tokens_array(tokens), len(tokens)))

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
        next decode() or truncate() overwrites it), or a copy with copy=True.
        Without numpy: a list of floats."""
        return self._as_logits(self.logits_pointer(i), copy)

    def _as_logits(self, ptr: "ctypes._Pointer[ctypes.c_float]", copy: bool) -> "Logits":
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

    # ---- many sequences (ABI 0.2) -------------------------------------------------
    @property
    def n_seq_max(self) -> int:
        """Sequences the context holds."""
        return int(self._lib.bn_ctx_n_seq_max(self._ptr))

    def decode_batch(self, batch: Batch) -> None:
        """One forward pass over every token of the batch, all or nothing:
        on an error (RangeError, BatchError, ContextFullError,
        InvalidArgumentError, CancelledError) no sequence changes."""
        self._check_abort(self._lib.bn_decode_batch(self._ptr, batch._ptr))

    def batch_logits(self, i: int, *, copy: bool = False) -> "Logits":
        """Logits of token i of the last batch (negative counts from the
        end); ValueError when that token did not ask for them."""
        ptr = self._lib.bn_ctx_batch_logits(self._ptr, i)
        if not ptr:
            raise ValueError(f"no logits for token {i} of the last batch")
        return self._as_logits(ptr, copy)

    def seq_logits(self, seq: int, *, copy: bool = False) -> "Logits":
        """Logits of the last token of sequence seq; ValueError when the last
        decode did not ask for them."""
        return self._as_logits(self.seq_logits_pointer(seq), copy)

    def seq_logits_pointer(self, seq: int = 0) -> "ctypes._Pointer[ctypes.c_float]":
        """The C pointer to the last logits of sequence seq (what
        Sampler.sample() reads); ValueError when there are none."""
        ptr = self._lib.bn_ctx_seq_logits(self._ptr, seq)
        if not ptr:
            raise ValueError(f"no logits for sequence {seq} (nothing decoded since it changed)")
        return ptr  # type: ignore[no-any-return]

    def seq_pos(self, seq: int) -> int:
        """Tokens in sequence seq (its next position)."""
        return int(self._lib.bn_ctx_seq_pos(self._ptr, seq))

    def seq_clear(self, seq: int = -1) -> None:
        """Empties sequence seq (-1 = every sequence)."""
        check(self._lib.bn_ctx_seq_clear(self._ptr, seq))

    def seq_truncate(self, seq: int, pos: int) -> None:
        """Rewinds sequence seq to its first pos tokens."""
        check(self._lib.bn_ctx_seq_truncate(self._ptr, seq, pos))

    def seq_copy(self, src: int, dst: int, n_pos: int = -1) -> None:
        """Makes dst hold the first n_pos tokens of src (-1 = all of them),
        copying the cache (e.g. a system prompt shared by conversations)."""
        check(self._lib.bn_ctx_seq_copy(self._ptr, src, dst, n_pos))

    def seq_keep(self, seq: int) -> None:
        """Empties every sequence except seq."""
        check(self._lib.bn_ctx_seq_keep(self._ptr, seq))

    def save_state(self, seq: int = 0) -> bytes:
        """Sequence seq's saved state (cache, length, last logits), for
        load_state() in a context on the same model, here or elsewhere."""
        n = ctypes.c_size_t()
        cap = int(self._lib.bn_ctx_seq_state_size(self._ptr, seq))
        buf = ctypes.create_string_buffer(max(cap, 1))
        check(self._lib.bn_ctx_seq_state_save(self._ptr, seq, buf, cap, ctypes.byref(n)))
        return buf.raw[:n.value]

    def load_state(self, data: bytes, seq: int = 0) -> None:
        """Replaces sequence seq with a saved state: FormatError (not a state,
        corrupted), ModelError (another model or KV type), ContextFullError;
        on any error nothing changes."""
        check(self._lib.bn_ctx_seq_state_load(self._ptr, seq, data, len(data)))

    def save_state_file(self, path: Union[str, "os.PathLike[str]"], seq: int = 0) -> None:
        """save_state() to a file (created or replaced)."""
        check(self._lib.bn_ctx_seq_state_save_file(self._ptr, seq, os.fsencode(path)))

    def load_state_file(self, path: Union[str, "os.PathLike[str]"], seq: int = 0) -> None:
        """load_state() from a file; FileError when it cannot be read."""
        check(self._lib.bn_ctx_seq_state_load_file(self._ptr, seq, os.fsencode(path)))

    def set_abort_callback(self, fn: Optional[Callable[[], bool]]) -> None:
        """fn() is called during decode() and decode_batch(), at least once per
        layer, on the thread decoding; True stops the call, which raises
        CancelledError and changes nothing (an exception in fn does the same
        and comes out of the decode call). None removes it."""
        if fn is None:
            check(self._lib.bn_ctx_set_abort_callback(self._ptr, _ffi.ABORT_FN(0),
                                                      None))
            self._abort = None
            return
        callback = fn
        raised = self._abort_raised

        def call(_user: Any) -> int:
            try:
                return 1 if callback() else 0
            except BaseException as e:      # re-raised by decode
                raised.append(e)
                return 1
        c_fn = _ffi.ABORT_FN(call)
        check(self._lib.bn_ctx_set_abort_callback(self._ptr, c_fn, None))
        self._abort = c_fn

    def _check_abort(self, rc: int) -> None:
        if self._abort_raised:
            e = self._abort_raised[0]
            self._abort_raised.clear()
            raise e
        check(rc)
