#!/usr/bin/python3
"""bitnet_train.py: train a small BitNet b1.58 model and export it as GGUF.

Subcommands (run with Debian's /usr/bin/python3 and python3-torch):
  prepare    corpus (bible-kjv) -> train/held-out split, byte-level BPE vocabulary, token ids
  train      quantisation-aware training; checkpoints to OUT/last.pt, resumes from it
  finetune   QAT of an existing model (checkpoint or GGUF) on a text file, then a GGUF
             (per-channel scales, Q8_0/Q4_0/F16 precision plans); resumes like train
  export     checkpoint -> GGUF (I2_S, TQ2_0 or TQ1_0 ternary weights)
  eval       held-out loss and perplexity of a GGUF file in PyTorch (exact f64/f32 forward)
  sample     text from a GGUF file or checkpoint with PyTorch (greedy or sampled)
  reference  the fidelity reference for test/train: token sequences and PyTorch logits
  tokens     token ids of a text or of a split (for bitnet-perplexity --tokens-file)

See doc/training.md for the recipe and the command that reproduces models/default.gguf.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DESCRIPTION = ("BitNet b1.58 trained from scratch on the King James Bible (Debian bible-kjv) "
               "by libbitnet's tools/train/bitnet_train.py; see models/README.md")


def add_adamw_args(g):
    g.add_argument("--beta1", type=float, default=0.9)
    g.add_argument("--beta2", type=float, default=0.95)
    g.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    g.add_argument("--batch", type=int, default=16, help="sequences per step")


def add_progress_args(g, eval_every):
    g.add_argument("--threads", type=int, default=2)
    g.add_argument("--f32", action="store_true",
                   help="f32 products instead of bf16 in training (for CPUs without fast bf16: "
                        "AVX-512 BF16 or AMX; several times slower where bf16 is fast)")
    g.add_argument("--log-every", type=int, default=10)
    g.add_argument("--eval-every", type=int, default=eval_every)
    g.add_argument("--eval-windows", type=int, default=16,
                   help="held-out windows evaluated during training (the final eval uses all)")
    g.add_argument("--ckpt-every", type=int, default=50)


def add_train_args(p):
    g = p.add_argument_group("model")
    g.add_argument("--n-embd", type=int, default=256)
    g.add_argument("--n-layer", type=int, default=6)
    g.add_argument("--n-head", type=int, default=4)
    g.add_argument("--n-head-kv", type=int, default=2)
    g.add_argument("--n-ff", type=int, default=512)
    g.add_argument("--ctx", type=int, default=256, help="context length (training windows)")
    g.add_argument("--rope-theta", type=float, default=10000.0)
    g.add_argument("--rms-eps", type=float, default=1e-5)
    g = p.add_argument_group("optimisation")
    g.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW)")
    g.add_argument("--schedule", choices=["two-stage", "cosine", "constant"], default="two-stage")
    g.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    g.add_argument("--split", type=float, default=0.5, help="two-stage: end of stage 1 (fraction)")
    g.add_argument("--stage1-end", type=float, default=0.6,
                   help="two-stage: lr at the end of stage 1 (fraction of --lr)")
    g.add_argument("--stage2-lr", type=float, default=0.3,
                   help="two-stage: lr at the start of stage 2 (fraction of --lr)")
    g.add_argument("--min-lr-frac", type=float, default=0.02, help="final lr (fraction of --lr)")
    g.add_argument("--weight-decay", type=float, default=0.1)
    g.add_argument("--weight-decay2", type=float, default=0.0, help="two-stage: stage-2 weight decay")
    add_adamw_args(g)
    g.add_argument("--steps", type=int, default=1600)
    g.add_argument("--p-bos", type=float, default=0.25,
                   help="fraction of training windows that start at a chapter's BOS")
    g.add_argument("--seed", type=int, default=1)
    g = p.add_argument_group("run")
    g.add_argument("--data", required=True, help="directory written by prepare")
    g.add_argument("--out", required=True, help="run directory (last.pt, weights.pt, log.jsonl)")
    g.add_argument("--resume", help="checkpoint to start from (default OUT/last.pt if present)")
    g.add_argument("--max-minutes", type=float, default=40.0,
                   help="stop (with a checkpoint) after this many minutes; 0 = no limit")
    add_progress_args(g, eval_every=100)


def cmd_prepare(a):
    from bntrain import data
    data.prepare(a.out, a.vocab, a.pre, a.holdout_every, a.holdout_offset)


def cmd_train(a):
    from bntrain import train
    train.run(a)


def cmd_finetune(a):
    from bntrain import finetune
    finetune.run(a)


def add_finetune_args(p):
    g = p.add_argument_group("start and data")
    g.add_argument("--init", required=True,
                   help="the model to start from: a checkpoint of train (e.g. "
                        "models/default-weights.pt) or a GGUF file of ours")
    g.add_argument("--tokenizer", help="GGUF file or tokenizer.json with the model's vocabulary "
                                       "(default: --init when it is a GGUF file)")
    g.add_argument("--text", required=True, help="UTF-8 text to fine-tune on")
    g.add_argument("--heldout-frac", type=float, default=0.05,
                   help="the last fraction of the text's lines held out for evaluation")
    g = p.add_argument_group("quantisation")
    g.add_argument("--scales", choices=["per-tensor", "per-channel"], default="per-tensor",
                   help="ternary scale per tensor (absmean, as published) or per output row")
    g.add_argument("--plan", default="",
                   help="linear kinds kept at more bits, e.g. attn_output=q8_0,ffn_down=q4_0 "
                        "(kinds: attn_q attn_k attn_v attn_output ffn_gate ffn_up ffn_down; "
                        "types q8_0 q4_0 f16): trained with fake quantisation to that type "
                        "and exported in it")
    g.add_argument("--act-bits", type=int, default=8,
                   help="activation bits of the ternary products (8 only: what libbitnet computes)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (AdamW)")
    g.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    g.add_argument("--warmup", type=int, default=20, help="warm-up steps")
    g.add_argument("--min-lr-frac", type=float, default=0.1, help="final lr (fraction of --lr)")
    g.add_argument("--weight-decay", type=float, default=0.01)
    add_adamw_args(g)
    g.add_argument("--ctx", type=int, default=256, help="training window (at most the model's)")
    g.add_argument("--steps", type=int, default=200)
    g.add_argument("--p-bos", type=float, default=0.0,
                   help="fraction of training windows that start at a BOS")
    g.add_argument("--seed", type=int, default=1)
    g = p.add_argument_group("run")
    g.add_argument("--out", required=True, help="run directory (last.pt, weights.pt, log.jsonl)")
    g.add_argument("--resume", help="checkpoint to continue (default OUT/last.pt if present)")
    g.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop (with a checkpoint, and export) after this many minutes; 0 = none")
    add_progress_args(g, eval_every=50)
    g = p.add_argument_group("export")
    g.add_argument("--type", choices=["i2_s", "tq2_0", "tq1_0"],
                   help="ternary type (default i2_s; tq2_0 with per-channel scales)")
    g.add_argument("--embd-type", choices=["f16", "f32"], default="f16")
    g.add_argument("--name", default="bitnet-b1.58-finetuned")
    g.add_argument("-o", help="the GGUF file (default OUT/finetuned.gguf)")


def cmd_export(a):
    import torch
    from bntrain import export, train
    from bntrain.bpe import Tokenizer
    model, ck = train.load_model(a.ckpt)
    tok = Tokenizer.load(os.path.join(a.data, "tokenizer.json"))
    extra = {}
    if a.description:
        extra["general.description"] = a.description
    extra["training.steps"] = ck["step"]
    try:
        with torch.no_grad():
            export.write_gguf(model, tok, a.o, a.type, a.embd_type, a.name, extra, a.arch,
                              a.f16_scales)
    except ValueError as e:
        raise SystemExit(f"export: {e}")
    print(f"wrote {a.o} ({os.path.getsize(a.o)} bytes, {a.type}, step {ck['step']})")


def cmd_eval(a):
    import numpy as np
    import torch
    from bntrain import data, export, train
    torch.set_num_threads(a.threads)
    dtype = torch.float64 if a.dtype == "f64" else torch.float32
    model, kv = export.load_gguf(a.model, dtype)
    ids = data.load_ids(a.data, a.split) if not a.tokens_file else \
        np.loadtxt(a.tokens_file, dtype=np.int64).reshape(-1)
    w = data.eval_windows(ids, a.ctx, a.max_windows)
    nll = train.evaluate(model, w)
    res = {"model": a.model, "split": a.split, "n_ctx": a.ctx, "windows": len(w),
           "mean_nll": nll, "perplexity": float(np.exp(nll)), "dtype": a.dtype}
    print(json.dumps(res))


def cmd_sample(a):
    import torch
    from bntrain import export, train
    from bntrain.bpe import Tokenizer
    torch.set_num_threads(a.threads)
    tok = Tokenizer.load(os.path.join(a.data, "tokenizer.json"))
    if a.model.endswith(".gguf"):
        model, _ = export.load_gguf(a.model, torch.float32)
    else:
        model, _ = train.load_model(a.model)
        model.eval()
    g = torch.Generator().manual_seed(a.seed)
    ids = tok.encode(a.prompt, bos=True)
    with torch.no_grad():
        for _ in range(a.n):
            logits = model(torch.tensor([ids[-model.cfg.n_ctx:]]))[0, -1].float()
            if a.temp <= 0:
                nxt = int(logits.argmax())
            else:
                p = torch.softmax(logits / a.temp, -1)
                if a.top_k:
                    v, i = p.topk(a.top_k)
                    nxt = int(i[torch.multinomial(v / v.sum(), 1, generator=g)])
                else:
                    nxt = int(torch.multinomial(p, 1, generator=g))
            ids.append(nxt)
    print(tok.decode(ids))


def cmd_reference(a):
    from bntrain import reference
    reference.make(a)


def cmd_tokens(a):
    if a.split:
        from bntrain import data
        ids = data.load_ids(a.data, a.split).tolist()
    elif a.text:
        from bntrain.bpe import Tokenizer
        tok = Tokenizer.load(os.path.join(a.data, "tokenizer.json"))
        ids = tok.encode(open(a.text, encoding="utf-8").read(), bos=a.bos)
    else:
        raise SystemExit("tokens: give --text FILE or --split train|heldout")
    sys.stdout.write(" ".join(map(str, ids)) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bitnet_train.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("prepare", help="corpus, split, vocabulary, token ids")
    p.add_argument("--out", required=True)
    p.add_argument("--vocab", type=int, default=2048, help="vocabulary size incl. 2 specials")
    p.add_argument("--pre", choices=["llama-bpe", "gpt2"], default="llama-bpe")
    p.add_argument("--holdout-every", type=int, default=20)
    p.add_argument("--holdout-offset", type=int, default=10)
    p.set_defaults(fn=cmd_prepare)

    p = sub.add_parser("train", help="quantisation-aware training")
    add_train_args(p)
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("finetune", help="QAT fine-tuning of an existing model on a text, then GGUF")
    add_finetune_args(p)
    p.set_defaults(fn=cmd_finetune)

    p = sub.add_parser("export", help="checkpoint -> GGUF")
    p.add_argument("--ckpt", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--type", choices=["i2_s", "tq2_0", "tq1_0"], default="i2_s")
    p.add_argument("--embd-type", choices=["f16", "f32"], default="f16")
    p.add_argument("--arch", default="bitnet-b1.58",
                   help="general.architecture (bitnet-b1.58; 'bitnet' for upstream llama.cpp)")
    p.add_argument("--f16-scales", action="store_true",
                   help="round the I2_S scales to f16 as TQ2_0/TQ1_0 store them (then all three "
                        "types give the same logits); default: the f32 scales of training")
    p.add_argument("--name", default="bitnet-b1.58-kjv")
    p.add_argument("--description", default=DESCRIPTION)
    p.add_argument("-o", required=True)
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("eval", help="held-out loss of a GGUF file, in PyTorch")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="heldout")
    p.add_argument("--tokens-file")
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--max-windows", type=int)
    p.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=cmd_eval)

    p = sub.add_parser("sample", help="generate text with PyTorch")
    p.add_argument("--model", required=True, help="GGUF file or checkpoint")
    p.add_argument("--data", required=True)
    p.add_argument("--prompt", default="And God said")
    p.add_argument("-n", type=int, default=60)
    p.add_argument("--temp", type=float, default=0.0)
    p.add_argument("--top-k", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=cmd_sample)

    p = sub.add_parser("reference", help="fidelity reference data for test/train")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, help="directory for the reference files")
    p.add_argument("--n-seq", type=int, default=3)
    p.add_argument("--len", type=int, default=64)
    p.add_argument("--tok-lines", type=int, default=300,
                   help="held-out lines whose token ids are stored for the tokenizer check")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=cmd_reference)

    p = sub.add_parser("tokens", help="token ids of a text file, or of a split, on stdout")
    p.add_argument("--data", required=True)
    p.add_argument("--text", help="a UTF-8 text file to tokenize")
    p.add_argument("--split", choices=["train", "heldout"],
                   help="the ids of a split as trained (a BOS before every chapter)")
    p.add_argument("--bos", action="store_true")
    p.set_defaults(fn=cmd_tokens)

    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
