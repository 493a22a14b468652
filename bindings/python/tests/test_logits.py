"""Logits: zero-copy numpy arrays when numpy is there, lists of floats when
not (meson runs the tests both ways: BITNET_TEST_NO_NUMPY=1)."""
from __future__ import annotations

import math
import os
import sys

import pytest

import bitnet


def test_numpy_path_is_the_expected_one() -> None:
    blocked = os.environ.get("BITNET_TEST_NO_NUMPY") == "1"
    assert bitnet.have_numpy() == (not blocked)
    if blocked:
        assert sys.modules.get("numpy") is None


def test_logits(model: bitnet.Model) -> None:
    with model.context(n_ctx=32, logits_all=True) as ctx:
        tokens = model.tokenize("And God said", add_special=True)
        ctx.decode(tokens)
        last = ctx.logits()
        assert len(last) == model.n_vocab
        assert all(math.isfinite(float(x)) for x in last)
        first = ctx.logits(0)
        assert list(first) != list(last)
        with model.sampler(temperature=0) as s:
            best = max(range(model.n_vocab), key=lambda i: float(last[i]))
            assert s.sample(ctx) == best        # read in place
            assert s.sample(last) == best       # given as an array or list
            assert s.sample([float(x) for x in last]) == best
        if bitnet.have_numpy():
            import numpy
            assert isinstance(last, numpy.ndarray) and last.dtype == numpy.float32
            assert not last.flags.writeable and not last.flags.owndata   # a view, no copy
            copy = ctx.logits(copy=True)
            assert copy.flags.writeable and numpy.array_equal(copy, last)
            with model.context(n_ctx=32) as one:
                one.decode(tokens)
                view = one.logits()
                snapshot = one.logits(copy=True)
                one.decode([best])
                assert not numpy.array_equal(view, snapshot)   # the view sees the new logits
                assert numpy.array_equal(view, one.logits())
        else:
            assert isinstance(last, list) and isinstance(last[0], float)
            with pytest.raises(ImportError):
                import numpy  # noqa: F401


def test_sampler_probs(model: bitnet.Model) -> None:
    with model.context(n_ctx=32) as ctx:
        ctx.decode(model.tokenize("And God said", add_special=True))
        params = dict(top_k=5, top_p=1.0, min_p=0.0, seed=3)
        with model.sampler(**params) as s, model.sampler(**params) as fresh:
            p = s.probs(ctx)
            assert len(p) == 5 and abs(sum(p.values()) - 1.0) < 1e-5
            assert s.probs(ctx.logits()) == p
            # probs() neither drew nor recorded: the next draws are a fresh sampler's
            assert [s.sample(ctx) for _ in range(8)] == [fresh.sample(ctx) for _ in range(8)]
            assert s.sample(ctx) in p
        with model.sampler(temperature=0) as g:
            best = g.probs(ctx)
            assert list(best.values()) == [1.0] and g.sample(ctx) in best
