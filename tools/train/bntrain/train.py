"""Quantisation-aware training loop: schedules, checkpoints, evaluation."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data
from .bpe import Tokenizer
from .model import BitNet, Config


def lr_wd(step: int, a) -> tuple[float, float]:
    """Learning rate and weight decay at `step` (0-based) for the schedule in `a`.

    warmup: linear from lr/warmup to lr over a.warmup steps, then
    - cosine: cosine from lr down to lr * min_lr_frac at a.steps;
    - two-stage (BitNet b1.58 papers): stage 1 (to split * steps) cosine from lr
      to lr * stage1_end; stage 2 starts lower, at lr * stage2_lr, and decays
      by a cosine to lr * min_lr_frac; weight decay wd in stage 1, wd2 in stage 2;
    - constant.
    """
    lr, wd = a.lr, a.weight_decay
    if step < a.warmup:
        return lr * (step + 1) / a.warmup, wd
    if a.schedule == "constant":
        return lr, wd
    if a.schedule == "cosine":
        t = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
        lo = lr * a.min_lr_frac
        return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * t)), wd
    if a.schedule == "two-stage":
        split = int(a.split * a.steps)
        if step < split:
            t = (step - a.warmup) / max(1, split - a.warmup)
            lo = lr * a.stage1_end
            return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * t)), wd
        t = min(1.0, (step - split) / max(1, a.steps - split))
        hi, lo = lr * a.stage2_lr, lr * a.min_lr_frac
        return lo + (hi - lo) * 0.5 * (1 + math.cos(math.pi * t)), a.weight_decay2
    raise ValueError(f"unknown schedule {a.schedule}")


@torch.no_grad()
def evaluate(model: BitNet, windows, batch: int = 8) -> float:
    """Mean NLL (nats/token) in the exact (f32, libbitnet-like) forward pass,
    each window scored from its second token, as bitnet-perplexity does."""
    was = model.training
    model.eval()
    tot, n = 0.0, 0
    by_len: dict[int, list] = {}
    for w in windows:
        by_len.setdefault(len(w), []).append(w)
    for ws in by_len.values():
        for i in range(0, len(ws), batch):
            x = torch.stack(ws[i:i + batch])
            logits = model(x[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                   x[:, 1:].reshape(-1), reduction="sum")
            tot += float(loss)
            n += x[:, 1:].numel()
    model.train(was)
    return tot / n if n else float("nan")


def save_ckpt(path: str, model, opt, step: int, args, elapsed: float, log_hist):
    tmp = path + ".tmp"
    torch.save({"cfg": dataclasses.asdict(model.cfg), "model": model.state_dict(),
                "opt": opt.state_dict() if opt is not None else None, "step": step,
                "args": {k: v for k, v in vars(args).items() if not callable(v)},
                "elapsed": elapsed, "history": log_hist}, tmp)
    os.replace(tmp, path)


def save_weights(path: str, model, step: int, args, elapsed: float, history):
    """The small checkpoint: latent weights (f32) and the run's settings, no optimizer state."""
    save_ckpt(path, model, None, step, args, elapsed, history)


def load_model(path: str) -> tuple[BitNet, dict]:
    ck = torch.load(path, map_location="cpu")
    m = BitNet(Config(**ck["cfg"]))
    m.load_state_dict(ck["model"])
    return m, ck


def run(a, log=print):
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    meta = json.load(open(os.path.join(a.data, "meta.json")))
    tok = Tokenizer.load(os.path.join(a.data, "tokenizer.json"))
    cfg = Config(n_vocab=tok.n_vocab, n_ctx=a.ctx, n_embd=a.n_embd, n_layer=a.n_layer,
                 n_head=a.n_head, n_head_kv=a.n_head_kv, n_ff=a.n_ff, rope_theta=a.rope_theta,
                 rms_eps=a.rms_eps)
    last = os.path.join(a.out, "last.pt")
    torch.manual_seed(a.seed)
    model = BitNet(cfg)
    model.set_fast(not getattr(a, "f32", False))
    opt = torch.optim.AdamW(model.decay_groups(a.weight_decay), lr=a.lr, betas=(a.beta1, a.beta2),
                            eps=1e-8)
    step, elapsed, history = 0, 0.0, []
    resume = a.resume if a.resume else (last if os.path.exists(last) else None)
    if resume:
        ck = torch.load(resume, map_location="cpu")
        if Config(**ck["cfg"]) != cfg:
            raise SystemExit(f"{resume}: model shape {ck['cfg']} differs from the arguments")
        model.load_state_dict(ck["model"])
        if ck.get("opt") is not None:
            opt.load_state_dict(ck["opt"])
        else:
            log("resuming from latent weights only: the optimizer state starts afresh")
        step, elapsed, history = ck["step"], ck.get("elapsed", 0.0), ck.get("history", [])
        log(f"resumed from {resume} at step {step} ({elapsed / 60:.1f} min trained)")
    log(f"model: {model.n_params()} parameters ({cfg})")
    log(f"data: {meta['train_tokens']} train tokens; {a.batch} x {a.ctx} = {a.batch * a.ctx} "
        f"tokens per step; {a.steps} steps = {a.steps * a.batch * a.ctx / meta['train_tokens']:.2f} epochs")

    batches = data.Batches(data.load_ids(a.data, "train"), tok.bos, a.ctx, a.batch, a.seed, a.p_bos)
    held = data.load_ids(a.data, "heldout")
    eval_w = data.eval_windows(held, a.ctx, a.eval_windows)
    return loop(a, model, opt, batches, eval_w, step, elapsed, history, log)


def loop(a, model, opt, batches, eval_w, step, elapsed, history, log=print):
    """Trains from `step` to a.steps (or a.max_minutes), writing a.out/log.jsonl,
    checkpoints to a.out/last.pt and at the end a.out/weights.pt.
    Returns (model, finished)."""
    cfg = model.cfg
    last = os.path.join(a.out, "last.pt")
    model.train()
    t_start = time.time()
    t_budget = a.max_minutes * 60 if a.max_minutes else None
    t_ckpt = time.time()
    losses = []
    with open(os.path.join(a.out, "log.jsonl"), "a") as logf:
        while step < a.steps:
            lr, wd = lr_wd(step, a)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.param_groups[0]["weight_decay"] = wd   # group 1 (norms) never decays
            x = batches.get(step)
            logits = model(x[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, cfg.n_vocab), x[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            step += 1
            losses.append(float(loss))
            now = time.time()
            if step % a.log_every == 0 or step == a.steps:
                run_min = (elapsed + now - t_start) / 60
                rec = {"step": step, "loss": float(np.mean(losses)), "lr": lr, "wd": wd,
                       "grad_norm": float(gn), "minutes": round(run_min, 2),
                       "tok_per_s": round(a.log_every * a.batch * a.ctx / max(1e-9, now - t_ckpt), 1)
                       if step % a.log_every == 0 else None}
                losses = []
                t_ckpt = now
                if step % a.eval_every == 0 or step == a.steps:
                    rec["heldout_loss"] = evaluate(model, eval_w)
                history.append(rec)
                logf.write(json.dumps(rec) + "\n")
                logf.flush()
                log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in rec.items()))
            if step % a.ckpt_every == 0 or step == a.steps:
                save_ckpt(last, model, opt, step, a, elapsed + time.time() - t_start, history)
            if t_budget and time.time() - t_start > t_budget and step < a.steps:
                save_ckpt(last, model, opt, step, a, elapsed + time.time() - t_start, history)
                log(f"time budget of {a.max_minutes} min used at step {step}; resume with the same "
                    f"command")
                return model, False
    elapsed += time.time() - t_start
    save_weights(os.path.join(a.out, "weights.pt"), model, step, a, elapsed, history)
    log(f"done: {step} steps in {elapsed / 60:.1f} min")
    return model, True
