"""Freeing is safe in any order; objects made on a model keep it alive."""
from __future__ import annotations

import gc
import threading
import weakref

import pytest

import bitnet


def test_model_outlives_its_python_object(model_path: str) -> None:
    model = bitnet.Model(model_path)
    handle = model._handle
    assert handle is not None
    ctx = model.context(n_ctx=64)
    sampler = model.sampler(seed=1)
    prompt = model.tokenize("And God said", add_special=True)
    ref = weakref.ref(model)
    ctx._model = None           # type: ignore[assignment]  # drop every Python reference...
    del model
    gc.collect()
    assert ref() is None        # ...the Model object is gone
    assert handle.alive         # the C model is not: the context uses it
    ctx.decode(prompt)
    t = sampler.sample(ctx)
    ctx.decode([t])
    ctx.close()
    assert handle.alive         # the sampler still holds it
    sampler.close()
    assert not handle.alive     # the last user freed it


@pytest.mark.parametrize("order", ["model-ctx-sampler", "sampler-ctx-model", "ctx-model-sampler"])
def test_close_in_any_order(model_path: str, order: str) -> None:
    objs = {}
    objs["model"] = bitnet.Model(model_path)
    handle = objs["model"]._handle
    assert handle is not None
    objs["ctx"] = objs["model"].context(n_ctx=32)
    objs["sampler"] = objs["model"].sampler()
    objs["stream"] = bitnet.TextStream(objs["model"], ["x"])
    objs["stream"].close()
    for name in order.split("-"):
        assert handle.alive
        objs[name].close()
        objs[name].close()      # twice is fine
        assert objs[name].closed
    assert not handle.alive


def test_closed_objects_raise_value_error(model_path: str) -> None:
    with bitnet.Model(model_path) as m:
        ctx = m.context(n_ctx=32)
    assert m.closed and not ctx.closed
    with pytest.raises(ValueError, match="model is closed"):
        m.tokenize("x")
    with pytest.raises(ValueError, match="model is closed"):
        m.context()
    assert "closed" in repr(m)
    ctx.decode([1, 2])          # the context still works on the model it holds
    ctx.close()
    with pytest.raises(ValueError, match="context is closed"):
        ctx.decode([1])


def test_unclosed_objects_are_freed_when_collected(model_path: str) -> None:
    m = bitnet.Model(model_path)
    handle = m._handle
    assert handle is not None
    c = m.context(n_ctx=16)
    del m, c
    gc.collect()
    assert not handle.alive


def test_logits_array_keeps_the_context(model: bitnet.Model) -> None:
    if not bitnet.have_numpy():
        pytest.skip("logits are copies (lists) without numpy")
    ctx = model.context(n_ctx=32)
    handle = ctx._handle
    assert handle is not None
    ctx.decode(model.tokenize("And God said", add_special=True))
    logits = ctx.logits()
    first = float(logits[0])
    ctx.close()                 # the array still reads valid memory
    assert handle.alive
    assert float(logits[0]) == first
    del logits
    gc.collect()
    assert not handle.alive


def _run(model: bitnet.Model, seed: int, out: dict[int, str], errors: list[BaseException],
         start: threading.Barrier) -> None:
    try:
        start.wait()
        out[seed] = "".join(model.generate("And God said", max_tokens=48, seed=seed,
                                           n_threads=1))
    except BaseException as e:      # reported by the main thread
        errors.append(e)


def test_two_threads_generate_on_one_model(model: bitnet.Model) -> None:
    want = {s: "".join(model.generate("And God said", max_tokens=48, seed=s, n_threads=1))
            for s in (11, 12)}
    for _ in range(3):
        out: dict[int, str] = {}
        errors: list[BaseException] = []
        start = threading.Barrier(2)
        threads = [threading.Thread(target=_run, args=(model, s, out, errors, start))
                   for s in (11, 12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert out == want
