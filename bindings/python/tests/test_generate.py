"""Generation from the bundled model equals bitnet-cli's for the same seed."""
from __future__ import annotations

import subprocess

import pytest

import bitnet


def run_cli(cli: str, model_path: str, *args: str, stdin: str = "") -> str:
    r = subprocess.run([cli, "-m", model_path, "-t", "1", *args], input=stdin.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=True)
    return r.stdout.decode("utf-8", "replace")


def as_cli_prints(text: str) -> str:
    # bitnet-cli ends its output with a newline when the text does not
    return text if text.endswith("\n") else text + "\n"


@pytest.mark.parametrize("seed,n,params", [
    (42, 40, {}),
    (7, 64, {"temperature": 1.2, "top_k": 0, "top_p": 0.9, "repeat_penalty": 1.3}),
    (0, 30, {"temperature": 0.0}),
])
def test_generate_equals_cli(model: bitnet.Model, model_path: str, cli: str, seed: int, n: int,
                             params: dict[str, float]) -> None:
    flags = {"temperature": "--temp", "top_k": "--top-k", "top_p": "--top-p",
             "repeat_penalty": "--repeat-penalty"}
    args = [a for k, v in params.items() for a in (flags[k], str(v))]
    want = run_cli(cli, model_path, "-p", "And God said", "-n", str(n), "--seed", str(seed),
                   *args)
    pieces = list(model.generate("And God said", max_tokens=n, seed=seed, n_threads=1,
                                 **params))
    assert len(pieces) > 1, "generate() streams: more than one piece"
    got = "".join(pieces)
    assert len(got) > 20
    assert as_cli_prints(got) == want


def test_stop_string_equals_cli(model: bitnet.Model, model_path: str, cli: str) -> None:
    want = run_cli(cli, model_path, "-p", "And God said", "-n", "80", "--seed", "3",
                   "--stop", "LORD")
    got = "".join(model.generate("And God said", max_tokens=80, seed=3, stop=["LORD"]))
    assert "LORD" not in got
    assert as_cli_prints(got) == want


def test_chat_equals_cli(model: bitnet.Model, model_path: str, cli: str) -> None:
    message = "Who made the light?"
    want = run_cli(cli, model_path, "--chat", "--chat-template", "bitnet-2b4t", "-p", message,
                   "-n", "30", "--seed", "5")
    got = "".join(model.chat([{"role": "user", "content": message}], template="bitnet-2b4t",
                             max_tokens=30, seed=5))
    assert as_cli_prints(got) == want


def test_chat_tokens_never_parse_message_text(model: bitnet.Model) -> None:
    assert model.bos is not None
    bos_text = model.token_to_piece(model.bos, special=True).decode()
    with bitnet.ChatTemplate.builtin("bitnet-2b4t") as t:
        messages = [("user", "hi " + bos_text)]     # a message spelling a special token
        text = t.format(messages)
        assert text == f"{bos_text}User: hi {bos_text}<|eot_id|>Assistant: "
        # parsing the formatted text would make the message's spelling a token...
        assert model.tokenize(text, parse_special=True).count(model.bos) == 2
        # ...the chat tokens keep it text: only the template's own BOS is one
        tokens = t.tokenize(model, messages)
        assert tokens.count(model.bos) == 1 and tokens[0] == model.bos
        # with benign content both ways agree
        benign = [("system", "Be brief."), ("user", "hi")]
        assert t.tokenize(model, benign) == model.tokenize(t.format(benign), parse_special=True)


def test_generate_continues_a_given_context(model: bitnet.Model) -> None:
    with model.context(n_ctx=64) as ctx, model.sampler(temperature=0) as s:
        first = "".join(model.generate("And God", max_tokens=5, context=ctx, sampler=s))
        assert ctx.pos > 0 and first
        pos = ctx.pos
        "".join(model.generate("said", max_tokens=3, context=ctx, sampler=s))
        assert ctx.pos > pos


def test_generate_stops_at_a_full_context(model: bitnet.Model) -> None:
    got = list(model.generate("And God said", n_ctx=16, seed=1))
    assert got
    with pytest.raises(bitnet.ContextFullError):
        list(model.generate("And God said " * 10, n_ctx=16))


def test_speculative_greedy_equals_plain(model: bitnet.Model) -> None:
    # a prompt that repeats itself, where drafts from the history are accepted
    prompt = "And God said, Let there be light: and there was light. " * 3 + "And God said"
    plain = "".join(model.generate(prompt, max_tokens=60, temperature=0, n_threads=1))
    with bitnet.Speculative(n_draft_max=6) as spec:
        fast = "".join(model.generate(prompt, max_tokens=60, temperature=0, n_threads=1,
                                      speculative=spec))
        stats = spec.stats
    assert fast == plain
    assert stats["tokens"] >= 60 and stats["steps"] < stats["tokens"]
    assert stats["drafted"] >= stats["accepted"] > 0
    with pytest.raises(bitnet.InvalidArgumentError, match="n_draft_max"):
        bitnet.Speculative(n_draft_max=100)


def test_speculative_draft_model_equals_plain(model: bitnet.Model) -> None:
    # the model drafting for itself from a second context: its greedy drafts
    # are accepted, and the output is plain decoding's
    prompt = "In the beginning God created the heaven and the earth."
    plain = "".join(model.generate(prompt, max_tokens=40, temperature=0, n_threads=1))
    with bitnet.Context(model, n_ctx=128, n_threads=1) as draft, bitnet.Speculative(n_draft_max=4) as spec:
        spec.set_draft_model(draft, cost=0.05)
        fast = "".join(model.generate(prompt, max_tokens=40, temperature=0, n_threads=1,
                                      speculative=spec))
        stats = spec.stats
        with pytest.raises(bitnet.RangeError):
            spec.set_draft_model(draft, seq=3)
        spec.set_draft_model(None)
    assert fast == plain
    assert stats["accepted"] > 0 and stats["steps"] < stats["tokens"]


def test_speculative_sampling_runs_to_the_end(model: bitnet.Model) -> None:
    with bitnet.Speculative() as spec:
        text = "".join(model.generate("And God said", n_ctx=48, seed=4, speculative=spec))
    assert text                       # stopped by the full context, without an error


def test_speculative_split_in_a_shared_batch_equals_step(model: bitnet.Model) -> None:
    # two sequences' pending tokens and drafts in one pass (draft/accept), as
    # a server does, give what step() gives each sequence alone
    prompts = [model.tokenize("And God said, Let there be light: and there was light. " * 3, add_special=True),
               model.tokenize("In the beginning God created the heaven and the earth. " * 3, add_special=True)]
    n_gen = 40

    def alone(prompt: list[int]) -> list[int]:
        with bitnet.Context(model, n_ctx=256, n_threads=1) as ctx, \
                bitnet.Sampler(model, temperature=0) as s, bitnet.Speculative(n_draft_max=6) as spec:
            s.accept(prompt)
            ctx.decode(prompt)
            spec.begin(prompt)
            out: list[int] = []
            while len(out) < n_gen:
                out += spec.step(ctx, s)
            return out[:n_gen]

    with bitnet.Context(model, n_ctx=256, n_threads=1, n_seq_max=2, n_outputs_max=14) as ctx:
        samplers = [bitnet.Sampler(model, temperature=0) for _ in prompts]
        specs = [bitnet.Speculative(n_draft_max=6) for _ in prompts]
        batch = bitnet.Batch(512)
        first, drafts = [], [[], []]
        for q, prompt in enumerate(prompts):
            samplers[q].accept(prompt)
            specs[q].begin(prompt)
            for i, t in enumerate(prompt):
                batch.add(t, q, logits=i == len(prompt) - 1)
            first.append(len(batch) - 1)
        ctx.decode_batch(batch)
        got: list[list[int]] = [[], []]
        while True:
            for q in range(2):
                if first[q] >= 0:
                    got[q] += specs[q].accept(ctx, samplers[q], first[q], drafts[q], seq=q)
            batch.clear()
            for q in range(2):
                first[q] = -1
                if len(got[q]) >= n_gen:
                    continue
                drafts[q] = specs[q].draft(ctx, seq=q)
                first[q] = len(batch)
                for t in [got[q][-1]] + drafts[q]:
                    batch.add(t, q, logits=True)
            if not len(batch):
                break
            ctx.decode_batch(batch)
        stats = [spec.stats for spec in specs]
        for o in samplers + specs:
            o.close()
    for q, prompt in enumerate(prompts):
        assert got[q][:n_gen] == alone(prompt)
        assert stats[q]["accepted"] > 0
