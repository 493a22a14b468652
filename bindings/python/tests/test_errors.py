"""Every error path raises the class of its status, with the library's message."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bitnet
from bitnet import errors
from gguf_bytes import gguf


def test_every_status_has_its_class() -> None:
    for status in bitnet.Status:
        if status == bitnet.Status.OK:
            continue
        cls = errors.ERRORS[status]
        assert cls.status == status and issubclass(cls, bitnet.BitnetError)
        e = errors.error(status)       # what a call failing with it raises
        assert type(e) is cls and e.status == status
    assert type(errors.error(-1000)) is bitnet.BitnetError   # a code newer than the bindings
    assert errors.check(0) == 0 and errors.check(5) == 5


def test_io(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    with pytest.raises(bitnet.FileError) as e:
        bitnet.Model(missing)
    assert str(missing) in str(e.value) and e.value.status == bitnet.Status.E_IO
    assert isinstance(e.value, OSError)


def test_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(bitnet.FormatError, match="not a GGUF file"):
        bitnet.Model(bad)
    with pytest.raises(bitnet.FormatError, match="truncated"):
        bitnet.Model.from_bytes(b"GGUF\x03\x00")


def test_unsupported() -> None:
    with pytest.raises(bitnet.UnsupportedError, match="architecture 'gpt2'"):
        bitnet.Model.from_bytes(gguf({"general.architecture": "gpt2"}))
    with pytest.raises(bitnet.UnsupportedError, match="GGUF version 99"):
        bitnet.Model.from_bytes(gguf({}, version=99))


def test_model() -> None:
    with pytest.raises(bitnet.ModelError, match="embedding_length"):
        bitnet.Model.from_bytes(gguf({"general.architecture": "bitnet-b1.58"}))


def test_cancelled(model_path: str) -> None:
    seen: list[float] = []

    def stop(fraction: float) -> bool:
        seen.append(fraction)
        return False
    with pytest.raises(bitnet.CancelledError):
        bitnet.Model(model_path, progress=stop)
    assert seen
    # an exception in the callback cancels the load and comes out of it
    def boom(fraction: float) -> bool:
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        bitnet.Model(model_path, progress=boom)
    with bitnet.Model(model_path, progress=lambda f: None) as m:   # None goes on
        assert m.n_vocab > 0


def test_not_found(model: bitnet.Model) -> None:
    with pytest.raises(bitnet.NotFoundError, match="no.such.key"):
        model.meta("no.such.key")
    with pytest.raises(bitnet.NotFoundError):
        bitnet.ChatTemplate.builtin("no-such-template")
    with pytest.raises(bitnet.NotFoundError, match="no built-in chat template"):
        model.chat_template()           # the bundled model has none
    with pytest.raises(LookupError):
        model.meta("no.such.key")


def test_invalid_argument(model: bitnet.Model) -> None:
    with pytest.raises(bitnet.InvalidArgumentError, match="temperature -1"):
        model.sampler(temperature=-1.0)
    for bad in [{"top_k": -1}, {"top_p": 1.5}, {"min_p": -0.5}, {"repeat_penalty": 0.0},
                {"frequency_penalty": float("nan")}, {"penalty_last_n": -1}]:
        with pytest.raises(bitnet.InvalidArgumentError, match=next(iter(bad))):
            model.sampler(**bad)
    with pytest.raises(bitnet.InvalidArgumentError, match="n_ctx"):
        model.context(n_ctx=-1)
    with model.context(n_ctx=32) as ctx:
        with pytest.raises(bitnet.InvalidArgumentError):
            ctx.decode([])
        with pytest.raises(ValueError, match="no logits"):
            ctx.logits()
    with bitnet.ChatTemplate.builtin("llama3") as t:
        with pytest.raises(bitnet.InvalidArgumentError, match="cannot be changed"):
            t.set_begin("x")
    with bitnet.ChatTemplate() as t:
        with pytest.raises(bitnet.InvalidArgumentError, match="empty role"):
            t.set_role("", "a", "b")


def test_range(model: bitnet.Model) -> None:
    with model.context(n_ctx=32) as ctx:
        with pytest.raises(bitnet.RangeError, match=str(model.n_vocab)):
            ctx.decode([1, model.n_vocab])
        assert ctx.pos == 0                 # unchanged on error
        with pytest.raises(bitnet.RangeError):
            ctx.truncate(5)
    with pytest.raises(bitnet.RangeError):
        model.token_to_piece(-3)
    with model.sampler() as s:
        with pytest.raises(bitnet.RangeError):
            s.accept(model.n_vocab)
        with pytest.raises(ValueError, match="logits"):
            s.sample([0.0, 1.0])


def test_batch_and_context_full(model: bitnet.Model) -> None:
    with model.context(n_ctx=8, n_batch=4) as ctx:
        with pytest.raises(bitnet.BatchError):
            ctx.decode([1, 2, 3, 4, 5])
        ctx.feed([1, 2, 3, 4, 5, 6])        # feed() splits into batches
        assert ctx.pos == 6
        ctx.decode([7, 8])
        with pytest.raises(bitnet.ContextFullError):
            ctx.decode([9])
        assert ctx.pos == 8


def test_out_of_memory(model_path: str) -> None:
    # In a child with 1 GiB of address space, a 16M-token context cannot be had.
    code = f"""
import resource, bitnet
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
m = bitnet.Model({model_path!r})
try:
    m.context(n_ctx=1 << 24)
except bitnet.OutOfMemoryError as e:
    assert isinstance(e, MemoryError) and e.status == bitnet.Status.E_NOMEM, e
    print("raised:", e)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=None)
    assert r.returncode == 0, r.stderr
    assert "raised: out of memory" in r.stdout


def test_message_is_the_calling_threads(model: bitnet.Model) -> None:
    import threading
    messages: dict[str, str] = {}

    def fail(name: str, fn: "object") -> None:
        try:
            fn()    # type: ignore[operator]
        except bitnet.BitnetError as e:
            messages[name] = str(e)
    a = threading.Thread(target=fail, args=("a", lambda: model.meta("key.of.thread.a")))
    b = threading.Thread(target=fail, args=("b", lambda: model.sampler(top_k=-7)))
    a.start(); b.start(); a.join(); b.join()
    assert "key.of.thread.a" in messages["a"] and "top_k -7" in messages["b"]
