"""Model: metadata, tokens and text, chat templates."""
from __future__ import annotations

from pathlib import Path

import pytest

import bitnet


def test_what_the_model_is(model: bitnet.Model, model_path: str) -> None:
    assert model.arch == "bitnet-b1.58"
    assert model.n_vocab == 2048 and model.n_layer > 0 and model.n_embd > 0
    assert model.n_head >= model.n_head_kv > 0 and model.n_ff > 0 and model.n_ctx_train > 0
    assert model.n_params > 0 and 0 < model.weight_bytes <= Path(model_path).stat().st_size
    assert model.bytes_per_token > 0 and model.kernel_name and model.weight_type
    meta = model.metadata
    assert meta["general.architecture"] == model.arch
    assert model.meta("general.architecture") == model.arch
    assert len(meta) > 5
    assert "bitnet.Model" in repr(model)


def test_from_bytes_equals_from_file(model: bitnet.Model, model_path: str) -> None:
    with bitnet.Model.from_bytes(Path(model_path).read_bytes()) as m:
        assert m.metadata == model.metadata
        text = "".join(m.generate("And God said", max_tokens=12, seed=9))
    assert text == "".join(model.generate("And God said", max_tokens=12, seed=9))


def test_tokens_and_text(model: bitnet.Model) -> None:
    text = "In the beginning God created the heaven and the earth. \u00e9\u4e2d"
    tokens = model.tokenize(text)
    assert tokens and all(0 <= t < model.n_vocab for t in tokens)
    assert model.detokenize(tokens) == text
    assert model.detokenize_bytes(tokens) == text.encode()
    assert b"".join(model.token_to_piece(t) for t in tokens) == text.encode()
    assert model.tokenize(text.encode()) == tokens
    with_bos = model.tokenize(text, add_special=True)
    assert with_bos[0] == model.bos and with_bos[1:] == tokens
    assert model.detokenize(with_bos) == text                     # specials give ""
    assert model.detokenize(with_bos, special=True).startswith("<|begin_of_text|>")
    long_text = "And God said " * 200                            # more than the first guess
    assert model.detokenize(model.tokenize(long_text)) == long_text
    assert model.tokenize("") == []
    assert model.eos is not None and model.is_eog(model.eos) and not model.is_eog(tokens[0])
    assert model.pad is None or model.pad >= 0


def test_custom_chat_template(model: bitnet.Model) -> None:
    with bitnet.ChatTemplate() as t:
        assert t.name == "custom"
        t.set_begin("<|begin_of_text|>")
        t.set_role("user", "Q: ", "\n")
        t.set_role("assistant", "A: ", "\n")
        t.set_generation_prompt("A:")
        messages = [{"role": "user", "content": "Who?"}, ("assistant", "Moses."),
                    ("user", "When?")]
        assert t.format(messages) == "<|begin_of_text|>Q: Who?\nA: Moses.\nQ: When?\nA:"
        assert t.format(messages, add_generation_prompt=False).endswith("When?\n")
        tokens = t.tokenize(model, messages)
        assert tokens[0] == model.bos
        answer = "".join(model.chat(messages, template=t, max_tokens=10, seed=1))
        assert answer
    with bitnet.ChatTemplate.builtin("llama3") as t:
        assert t.name == "llama3"


def test_load_options(model: bitnet.Model, model_path: str) -> None:
    want = "".join(model.generate("And God said", max_tokens=16, temperature=0))
    for options in [{"use_mmap": False}, {"check_weights": False}, {"cpu_level_cap": 0}]:
        with bitnet.Model(model_path, **options) as m:    # type: ignore[arg-type]
            assert "".join(m.generate("And God said", max_tokens=16, temperature=0)) == want
    for head in ["output_q8", "output_q4"]:
        with bitnet.Model(model_path, **{head: True}) as m:
            assert "".join(m.generate("And God said", max_tokens=16, temperature=0))
    with pytest.raises(bitnet.InvalidArgumentError):
        bitnet.Model(model_path, output_q8=True, output_q4=True)
