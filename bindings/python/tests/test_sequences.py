"""The multi-sequence API through Context: batches, sequence operations,
saved state, the abort callback and shared thread pools."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

import bitnet

PROMPTS = ["And God said", "In the beginning"]


def single(model: bitnet.Model, text: str) -> list[float]:
    """The last logits of text decoded alone, as the reference."""
    with model.context(n_ctx=64, n_threads=1) as ctx:
        ctx.decode(model.tokenize(text, add_special=True))
        return [float(x) for x in ctx.logits()]


def as_list(logits: "bitnet.context.Logits") -> list[float]:
    return [float(x) for x in logits]


def test_batch_of_two_sequences_equals_each_alone(model: bitnet.Model) -> None:
    with model.context(n_ctx=64, n_seq_max=2, n_threads=1) as ctx, bitnet.Batch(64) as batch:
        assert ctx.n_seq_max == 2
        for seq, text in enumerate(PROMPTS):
            tokens = model.tokenize(text, add_special=True)
            for i, t in enumerate(tokens):
                batch.add(t, seq, logits=i == len(tokens) - 1)
        n = len(batch)
        ctx.decode_batch(batch)
        for seq, text in enumerate(PROMPTS):
            assert ctx.seq_pos(seq) == len(model.tokenize(text, add_special=True))
            assert as_list(ctx.seq_logits(seq)) == single(model, text)
        assert as_list(ctx.batch_logits(-1)) == as_list(ctx.seq_logits(1))
        with pytest.raises(ValueError, match="no logits"):
            ctx.batch_logits(0)
        # one more token each, at explicit positions
        batch.clear()
        assert len(batch) == 0 and n > 2
        for seq in (0, 1):
            batch.add(5, seq, ctx.seq_pos(seq), logits=True)
        ctx.decode_batch(batch)
        assert ctx.seq_pos(0) == len(model.tokenize(PROMPTS[0], add_special=True)) + 1


def test_batch_errors_change_nothing(model: bitnet.Model) -> None:
    with model.context(n_ctx=16, n_seq_max=2) as ctx, bitnet.Batch(4) as batch:
        batch.add(1, 0)
        batch.add(model.n_vocab, 1)
        with pytest.raises(bitnet.RangeError):
            ctx.decode_batch(batch)
        assert ctx.seq_pos(0) == 0 and ctx.seq_pos(1) == 0
        batch.clear()
        batch.add(1, 2)            # only sequences 0 and 1
        with pytest.raises(bitnet.RangeError):
            ctx.decode_batch(batch)
        for _ in range(3):
            batch.add(1, 0)
        with pytest.raises(bitnet.BatchError):
            batch.add(1, 0)         # full
        with pytest.raises(bitnet.InvalidArgumentError):
            batch.add(1, -1)
    with pytest.raises(bitnet.InvalidArgumentError):
        bitnet.Batch(0)


def test_sequence_operations(model: bitnet.Model) -> None:
    tokens = model.tokenize(PROMPTS[0], add_special=True)
    with model.context(n_ctx=64, n_seq_max=3, n_threads=1) as ctx:
        ctx.decode(tokens)          # sequence 0
        want = as_list(ctx.logits())
        ctx.seq_copy(0, 1)
        assert ctx.seq_pos(1) == len(tokens)
        assert as_list(ctx.seq_logits(1)) == want
        ctx.seq_copy(0, 2, 2)
        assert ctx.seq_pos(2) == 2
        ctx.seq_truncate(1, 1)
        assert ctx.seq_pos(1) == 1
        ctx.seq_keep(2)
        assert (ctx.seq_pos(0), ctx.seq_pos(1), ctx.seq_pos(2)) == (0, 0, 2)
        ctx.seq_clear()
        assert ctx.seq_pos(2) == 0
        with pytest.raises(bitnet.RangeError):
            ctx.seq_truncate(0, 5)
        with pytest.raises(bitnet.InvalidArgumentError):
            ctx.seq_copy(1, 1)


def test_state_save_and_load(model: bitnet.Model, tmp_path: Path) -> None:
    tokens = model.tokenize(PROMPTS[1], add_special=True)
    with model.context(n_ctx=64, n_threads=1) as a:
        a.decode(tokens)
        state = a.save_state()
        a.save_state_file(tmp_path / "seq.state")
        want = as_list(a.logits())
    with model.context(n_ctx=64, n_threads=1) as b:
        b.load_state(state)
        assert b.pos == len(tokens)
        with model.sampler(temperature=0) as s:
            t = s.sample(b)
        b.decode([t])
        b.load_state_file(tmp_path / "seq.state")
        assert b.pos == len(tokens)
        assert as_list(b.seq_logits(0)) == want
        with pytest.raises(bitnet.FormatError):
            b.load_state(state[:len(state) // 2])
        with pytest.raises(bitnet.FormatError):
            b.load_state(b"not a state")
        assert b.pos == len(tokens)           # unchanged
        with pytest.raises(bitnet.FileError):
            b.load_state_file(tmp_path / "missing.state")
    with model.context(n_ctx=64, kv_type=bitnet.KvType.F32) as c:
        with pytest.raises(bitnet.ModelError):
            c.load_state(state)               # another KV type


def test_abort_callback(model: bitnet.Model) -> None:
    tokens = model.tokenize(PROMPTS[0], add_special=True)
    calls = []
    with model.context(n_ctx=64) as ctx:
        ctx.set_abort_callback(lambda: calls.append(1) is None and len(calls) > 2)
        with pytest.raises(bitnet.CancelledError):
            ctx.decode(tokens)
        assert ctx.pos == 0 and len(calls) == 3

        def boom() -> bool:
            raise RuntimeError("from the abort callback")
        ctx.set_abort_callback(boom)
        with pytest.raises(RuntimeError, match="abort callback"):
            ctx.decode(tokens)
        assert ctx.pos == 0
        ctx.set_abort_callback(None)
        ctx.decode(tokens)
        assert ctx.pos == len(tokens)


def test_thread_pool(model: bitnet.Model) -> None:
    pool = bitnet.ThreadPool(2)
    assert pool.n_threads == 2
    handle = pool._handle
    assert handle is not None
    a = model.context(n_ctx=64, pool=pool)
    b = model.context(n_ctx=64, pool=pool)
    assert a.n_threads == 2
    a.decode(model.tokenize(PROMPTS[0], add_special=True))
    pool.close()                  # the contexts keep it
    b.decode(model.tokenize(PROMPTS[0], add_special=True))
    assert as_list(a.logits()) == as_list(b.logits())
    a.close()
    assert handle.alive
    del b
    gc.collect()
    assert not handle.alive
    with pytest.raises(ValueError, match="thread pool is closed"):
        model.context(pool=pool)
