"""Fine-tuning an existing model on a user's text with QAT, then export.

Starts from latent weights (a checkpoint of `train`, e.g. models/default-weights.pt)
or from a GGUF file of ours (export.latent_from_gguf), optionally switching
to per-channel ternary scales and to a precision plan (some linear kinds as
Q8_0 / Q4_0 blocks or F16), and trains with the loop of `train` (AdamW, warm-up and
cosine schedule, clipping, checkpoints to OUT/last.pt, resume).
"""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import torch

from . import data, export, quant, train
from .bpe import Tokenizer
from .model import BitNet, Config

ACT_BITS = 8   # libbitnet's ternary products take int8 activations


def check_args(a):
    if a.act_bits != ACT_BITS:
        raise SystemExit(f"--act-bits {a.act_bits}: libbitnet computes every ternary product with "
                         f"{ACT_BITS}-bit (int8, per-token absmax) activations, so a model trained "
                         f"with other activation bits would not run as trained; only "
                         f"--act-bits {ACT_BITS} is supported")
    try:
        a.plan = quant.canonical_plan(a.plan)
    except ValueError as e:
        raise SystemExit(f"--plan: {e}")
    if a.type is None:
        a.type = "tq2_0" if a.scales == "per-channel" else "i2_s"
    if a.scales == "per-channel" and a.type == "i2_s":
        raise SystemExit("--scales per-channel: I2_S stores one scale per tensor and cannot "
                         "carry one per row; use --type tq2_0 or tq1_0")


def load_tokenizer(a, init: str) -> Tokenizer:
    src = a.tokenizer or (init if init.endswith(".gguf") else None)
    if not src:
        raise SystemExit("--tokenizer FILE: the GGUF file (or tokenizer.json) whose vocabulary "
                         "the starting checkpoint was trained with, e.g. models/default.gguf")
    if src.endswith(".json"):
        return Tokenizer.load(src)
    return export.tokenizer_from_gguf(src)


def start_model(a) -> BitNet:
    """The model to fine-tune, built from --init with the requested scales and plan."""
    per_channel = a.scales == "per-channel"
    if a.init.endswith(".gguf"):
        kv = export.gguf.Reader(a.init).kv
        cfg = export.config_from_gguf(kv, a.plan, per_channel)
        sd = export.latent_from_gguf(a.init, cfg)
    else:
        src, _ = train.load_model(a.init)
        cfg = dataclasses.replace(src.cfg, plan=a.plan, per_channel=per_channel)
        sd = export.latent_from_checkpoint(src, cfg)
    model = BitNet(cfg)
    model.load_state_dict(sd)
    return model


def text_ids(a, tok: Tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of --text (a BOS first), split into training and held-out parts
    (the last --heldout-frac, at a line boundary), cached in OUT/text.npz."""
    cache = os.path.join(a.out, "text.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["train"], z["heldout"]
    lines = open(a.text, encoding="utf-8").read().splitlines(keepends=True)
    if not lines:
        raise SystemExit(f"{a.text}: empty")
    cut = len(lines) - max(1, int(len(lines) * a.heldout_frac)) if a.heldout_frac > 0 else len(lines)
    tr = np.asarray(tok.encode("".join(lines[:cut]), bos=True), dtype=np.int64)
    he = np.asarray(tok.encode("".join(lines[cut:]), bos=True), dtype=np.int64)
    if len(tr) < a.ctx + 2:
        raise SystemExit(f"{a.text}: {len(tr)} training tokens, fewer than a window of "
                         f"--ctx {a.ctx} + 2")
    np.savez(cache, train=tr, heldout=he)
    return tr, he


def run(a, log=print):
    check_args(a)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    last = os.path.join(a.out, "last.pt")
    resume = a.resume if a.resume else (last if os.path.exists(last) else None)
    model = start_model(a)
    cfg = model.cfg
    if a.ctx > cfg.n_ctx:
        raise SystemExit(f"--ctx {a.ctx} exceeds the model's context of {cfg.n_ctx}")
    tok = load_tokenizer(a, a.init)
    if tok.n_vocab != cfg.n_vocab:
        raise SystemExit(f"the tokenizer has {tok.n_vocab} tokens, the model {cfg.n_vocab}")
    model.set_fast(not a.f32)
    opt = torch.optim.AdamW(model.decay_groups(a.weight_decay), lr=a.lr,
                            betas=(a.beta1, a.beta2), eps=1e-8)
    step, elapsed, history = 0, 0.0, []
    if resume:
        ck = torch.load(resume, map_location="cpu")
        if Config(**ck["cfg"]) != cfg:
            raise SystemExit(f"{resume}: model {ck['cfg']} differs from --init with these options "
                             f"({dataclasses.asdict(cfg)})")
        model.load_state_dict(ck["model"])
        if ck.get("opt") is not None:
            opt.load_state_dict(ck["opt"])
        step, elapsed, history = ck["step"], ck.get("elapsed", 0.0), ck.get("history", [])
        log(f"resumed from {resume} at step {step} ({elapsed / 60:.1f} min trained)")
    tr, he = text_ids(a, tok)
    log(f"model: {model.n_params()} parameters from {a.init}; scales {a.scales}; "
        f"plan {a.plan or 'all ternary'}; activations {a.act_bits}-bit")
    log(f"text: {len(tr)} training tokens, {len(he)} held-out; {a.batch} x {a.ctx} tokens per "
        f"step; {a.steps} steps = {a.steps * a.batch * a.ctx / len(tr):.2f} epochs")
    batches = data.Batches(tr, tok.bos, a.ctx, a.batch, a.seed, a.p_bos)
    eval_w = data.eval_windows(he, a.ctx, a.eval_windows) if len(he) > 1 else []
    if step == 0 and eval_w:
        log(f"held-out loss before fine-tuning: {train.evaluate(model, eval_w):.4f}")
    model, finished = train.loop(a, model, opt, batches, eval_w, step, elapsed, history, log)
    out = a.o or os.path.join(a.out, "finetuned.gguf")
    ck = torch.load(last, map_location="cpu")
    extra = {"general.description": f"fine-tuned by bitnet_train.py finetune from "
                                    f"{os.path.basename(a.init)} on {os.path.basename(a.text)}",
             "training.steps": ck["step"]}
    if a.plan:
        extra["training.plan"] = a.plan
    with torch.no_grad():
        model.eval()
        export.write_gguf(model, tok, out, a.type, a.embd_type, a.name, extra)
    log(json.dumps({"exported": out, "bytes": os.path.getsize(out), "type": a.type,
                    "scales": a.scales, "plan": a.plan, "step": ck["step"], "finished": finished}))
    return model, finished
