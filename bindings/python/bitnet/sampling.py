"""Sampler (logits to the next token) and TextStream (tokens to text that is
safe to show as it comes)."""
from __future__ import annotations

import ctypes
from typing import Any, Iterable, Optional, Sequence, Union

from . import _ffi
from ._owner import Owner, create
from .context import Context
from .errors import check
from .model import Model


class Sampler(Owner):
    """Picks the next token: penalties over recent tokens, top-k, top-p,
    min-p, temperature, then a seeded draw (the same seed and inputs give the
    same tokens). Parameters left out keep the library's defaults
    (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1,
    frequency_penalty 0, presence_penalty 0, penalty_last_n 64, seed 0x5EED).
    temperature 0 is greedy; a negative one is an InvalidArgumentError, as is
    any value outside the documented ranges. One thread at a time."""

    _what = "sampler"

    def __init__(self, model: Model, *, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None,
                 min_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                 frequency_penalty: Optional[float] = None,
                 presence_penalty: Optional[float] = None,
                 penalty_last_n: Optional[int] = None, seed: Optional[int] = None) -> None:
        lib = _ffi.lib()
        p = _ffi.SamplerParams()
        lib.bn_sampler_params_default(ctypes.byref(p))
        given: dict[str, Any] = dict(
            temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
            repeat_penalty=repeat_penalty, frequency_penalty=frequency_penalty,
            presence_penalty=presence_penalty, penalty_last_n=penalty_last_n, seed=seed)
        for name, value in given.items():
            if value is not None:
                setattr(p, name, value)
        parent = model._owned
        self._own(create(lib.bn_sampler_new, lib.bn_sampler_free, parent.ptr, ctypes.byref(p),
                         parents=[parent]))
        self._lib = lib
        self._n_vocab = int(lib.bn_model_n_vocab(parent.ptr))
        self.params = p

    def _logits(self, logits: Union[Context, Sequence[float], Any], seq: int) -> tuple[Any, Any]:
        """(a float * the library reads, the object that must stay alive)."""
        if isinstance(logits, Context):
            return logits.seq_logits_pointer(seq), None
        if len(logits) != self._n_vocab:
            raise ValueError(f"{len(logits)} logits, the model has {self._n_vocab} tokens")
        if hasattr(logits, "ctypes") and hasattr(logits, "dtype"):     # numpy
            import numpy
            arr = numpy.ascontiguousarray(logits, dtype=numpy.float32)
            return arr.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), arr
        keep = (ctypes.c_float * self._n_vocab)(*logits)
        return keep, keep

    def sample(self, logits: Union[Context, Sequence[float], Any], seq: int = 0) -> int:
        """Picks a token from the last logits of a context's sequence seq
        (read in place), or from n_vocab floats (a sequence or a numpy
        array), and records it in the penalty window."""
        ptr, keep = self._logits(logits, seq)
        out = ctypes.c_int32()
        check(self._lib.bn_sampler_sample(self._ptr, ptr, ctypes.byref(out)))
        del keep
        return out.value

    def probs(self, logits: Union[Context, Sequence[float], Any],
              seq: int = 0) -> dict[int, float]:
        """The distribution sample() would draw from (after penalties, top-k,
        min-p, top-p and temperature) as {token: probability}; draws and
        records nothing."""
        ptr, keep = self._logits(logits, seq)
        n = ctypes.c_size_t()
        cap = 64
        while True:
            ids = (ctypes.c_int32 * cap)()
            probs = (ctypes.c_float * cap)()
            rc = self._lib.bn_sampler_probs(self._ptr, ptr, ids, probs, cap, ctypes.byref(n))
            if rc == _ffi.Status.E_RANGE and n.value > cap:
                cap = n.value
                continue
            check(rc)
            del keep
            return {ids[i]: probs[i] for i in range(n.value)}

    def accept(self, tokens: Union[int, Iterable[int]]) -> None:
        """Records tokens (e.g. of the prompt) in the penalty window."""
        for t in [tokens] if isinstance(tokens, int) else tokens:
            check(self._lib.bn_sampler_accept(self._ptr, t))

    def reset(self) -> None:
        """Empties the penalty window and restarts the generator from the seed."""
        self._lib.bn_sampler_reset(self._ptr)


class TextStream(Owner):
    """Turns generated tokens into text that is safe to show as it comes:
    never a broken UTF-8 sequence, never the start of a stop string that may
    still match. push() returns the text that became safe; `stopped` turns
    True at a stop string (not returned) or an end-of-generation token."""

    _what = "text stream"

    def __init__(self, model: Model, stop: Sequence[str] = ()) -> None:
        lib = _ffi.lib()
        parent = model._owned
        enc = [s.encode("utf-8") for s in stop]
        arr = (ctypes.c_char_p * len(enc))(*enc)
        self._own(create(lib.bn_text_stream_new, lib.bn_text_stream_free, parent.ptr,
                         arr if enc else None, len(enc), parents=[parent]))
        self._lib = lib
        self.stopped = False

    def _text(self, raw: bytes) -> str:
        # The library hands out whole UTF-8 sequences; invalid bytes from the
        # model are shown as U+FFFD.
        return raw.decode("utf-8", "replace")

    def push_bytes(self, token: int) -> bytes:
        """Adds a token; returns the bytes that became safe to show."""
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        stopped = ctypes.c_int()
        check(self._lib.bn_text_stream_push(self._ptr, token, ctypes.byref(text),
                                            ctypes.byref(n), ctypes.byref(stopped)))
        self.stopped = bool(stopped.value)
        return ctypes.string_at(text.value, n.value) if n.value and text.value else b""

    def push(self, token: int) -> str:
        """Adds a token; returns the text that became safe to show."""
        return self._text(self.push_bytes(token))

    def flush_bytes(self) -> bytes:
        """What is held back, at the end of generation; starts afresh."""
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        check(self._lib.bn_text_stream_flush(self._ptr, ctypes.byref(text), ctypes.byref(n)))
        self.stopped = False
        return ctypes.string_at(text.value, n.value) if n.value and text.value else b""

    def flush(self) -> str:
        """What is held back, as text, at the end of generation."""
        return self._text(self.flush_bytes())
