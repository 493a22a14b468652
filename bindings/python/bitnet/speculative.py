"""Speculative: exact speculative decoding of one sequence by prompt lookup
or a draft model (ABI 0.2): the same tokens as plain decoding with a greedy sampler, the same
distribution with a random one, in fewer forward passes when the text
repeats its context."""
from __future__ import annotations

import ctypes
from typing import Optional, Sequence

from . import _ffi
from ._owner import Owner, create
from .context import Context
from .errors import check
from .model import _tokens_array
from .sampling import Sampler


class Speculative(Owner):
    """Drafts up to n_draft_max tokens per step from the sequence's own
    history (n-grams of ngram_max down to ngram_min tokens), checks them in
    one pass, keeps what the model agrees with. Parameters left out keep the
    library's defaults (8, 2, 4, draft_cost 0.1). One thread at a time."""

    _what = "speculative decoder"

    def __init__(self, *, n_draft_max: Optional[int] = None, ngram_min: Optional[int] = None,
                 ngram_max: Optional[int] = None, draft_cost: Optional[float] = None) -> None:
        lib = _ffi.lib()
        p = _ffi.SpecParams()
        lib.bn_spec_params_default(ctypes.byref(p))
        for name, value in (("n_draft_max", n_draft_max), ("ngram_min", ngram_min),
                            ("ngram_max", ngram_max), ("draft_cost", draft_cost)):
            if value is not None:
                setattr(p, name, value)
        self._own(create(lib.bn_spec_new, lib.bn_spec_free, ctypes.byref(p)))
        self._lib = lib
        self._room = p.n_draft_max + 1
        self._draft: Optional[Context] = None

    def set_draft_model(self, draft: Optional[Context], seq: int = 0, cost: float = 0.1) -> None:
        """Drafts with the model of context `draft` (its sequence seq, cleared
        now and the decoder's from then on) instead of the history: its greedy
        continuation, checked as before, so the output is unchanged. The draft
        model must have the same vocabulary; cost is one of its tokens' passes
        as a fraction of one of the checked model's. None: the history again.
        The decoder keeps the context alive while it uses it."""
        check(self._lib.bn_spec_set_draft_model(self._ptr, draft._ptr if draft is not None else None, seq,
                                                cost))
        self._draft = draft

    def begin(self, history: Sequence[int]) -> None:
        """Starts a generation: history is what the sequence holds (its
        prompt, already decoded)."""
        check(self._lib.bn_spec_begin(self._ptr, _tokens_array(history), len(history)))

    def step(self, ctx: Context, sampler: Sampler, seq: int = 0) -> list[int]:
        """The next tokens (at least one): the sampler picks each, drafts are
        checked in one pass of ctx. Raises ContextFullError when the sequence
        has no room for one more token; on any error nothing changed."""
        out = (ctypes.c_int32 * self._room)()
        n = ctypes.c_size_t()
        ctx._check_abort(self._lib.bn_spec_step(self._ptr, ctx._ptr, seq, sampler._ptr, out,
                                                self._room, ctypes.byref(n)))
        return list(out[:n.value])

    def draft(self, ctx: Context, seq: int = 0, n_max: Optional[int] = None) -> list[int]:
        """The split form of step(), for a pass shared with other sequences:
        the drafts for seq's next pass (none before the first token). Put the
        last token returned, then these, into the batch, every one asking for
        logits; after the pass, accept()."""
        room = self._room - 1 if n_max is None else n_max
        out = (ctypes.c_int32 * max(room, 1))()
        n = ctypes.c_size_t()
        check(self._lib.bn_spec_draft(self._ptr, ctx._ptr, seq, out, room, ctypes.byref(n)))
        return list(out[:n.value])

    def accept(self, ctx: Context, sampler: Sampler, first: int, drafts: Sequence[int] = (),
               seq: int = 0) -> list[int]:
        """After the pass: token `first` of the last batch is the last token
        returned (on the first call: the prompt's last token), followed by
        `drafts`. Applies the acceptance rule, cuts the rejected drafts from
        seq's cache and returns the next tokens (at least one)."""
        rows = (_ffi._pfloat * (len(drafts) + 1))()
        for j in range(len(drafts) + 1):
            rows[j] = ctx._lib.bn_ctx_batch_logits(ctx._ptr, first + j)
            if not rows[j]:
                raise ValueError(f"no logits for token {first + j} of the last batch")
        out = (ctypes.c_int32 * (len(drafts) + 1))()
        n = ctypes.c_size_t()
        check(self._lib.bn_spec_accept(self._ptr, ctx._ptr, seq, sampler._ptr, rows,
                                       _tokens_array(drafts), len(drafts), out, len(drafts) + 1,
                                       ctypes.byref(n)))
        return list(out[:n.value])

    @property
    def stats(self) -> dict[str, int]:
        """Counters since creation: steps, drafted, accepted, tokens."""
        st = _ffi.SpecStats()
        self._lib.bn_spec_get_stats(self._ptr, ctypes.byref(st))
        return {"steps": st.n_steps, "drafted": st.n_drafted, "accepted": st.n_accepted,
                "tokens": st.n_tokens}
