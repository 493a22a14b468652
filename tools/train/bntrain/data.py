"""Token streams of the corpus and the batches drawn from them."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import torch

from . import bpe, corpus


def prepare(out_dir: str, n_vocab: int, pre: str, holdout_every: int, holdout_offset: int,
            log=print) -> dict:
    """Reads the corpus, trains the vocabulary on the training part, writes
    tokenizer.json, {train,heldout}.txt, {train,heldout}.bin (uint16 ids, one
    BOS before every chapter) and meta.json (sizes, unigram perplexity)."""
    os.makedirs(out_dir, exist_ok=True)
    chapters = corpus.read_bible()
    train_ch, held_ch = corpus.split(chapters, holdout_every, holdout_offset)
    train_text, held_text = "".join(train_ch), "".join(held_ch)
    log(f"corpus: {len(train_ch)} train chapters ({len(train_text)} chars), "
        f"{len(held_ch)} held-out chapters ({len(held_text)} chars)")
    tok = bpe.train(train_text, n_vocab, pre, log=log)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    meta = {"n_vocab": tok.n_vocab, "pre": pre, "n_merges": len(tok.merges),
            "holdout_every": holdout_every, "holdout_offset": holdout_offset}
    for name, chs, text in (("train", train_ch, train_text), ("heldout", held_ch, held_text)):
        ids = []
        for ch in chs:
            ids.append(tok.bos)
            ids.extend(tok.encode(ch))
        np.asarray(ids, dtype=np.uint16).tofile(os.path.join(out_dir, f"{name}.bin"))
        with open(os.path.join(out_dir, f"{name}.txt"), "w", encoding="utf-8") as f:
            f.write(text)
        meta[f"{name}_tokens"] = len(ids)
        meta[f"{name}_chars"] = len(text)
        meta[f"{name}_chapters"] = len(chs)
    meta["unigram"] = unigram(out_dir, tok.n_vocab)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log(f"tokens: train {meta['train_tokens']}, held-out {meta['heldout_tokens']}; "
        f"unigram held-out perplexity {meta['unigram']['heldout_ppl']:.2f}")
    return meta


def load_ids(data_dir: str, name: str) -> np.ndarray:
    return np.fromfile(os.path.join(data_dir, f"{name}.bin"), dtype=np.uint16).astype(np.int64)


def unigram(data_dir: str, n_vocab: int, n_ctx: int = 256) -> dict:
    """Held-out perplexity of the unigram model of the training tokens
    (add-one smoothed), over the tokens bitnet-perplexity scores with windows
    of n_ctx: every token but the first of each window (BOS included, as it
    is in the stream)."""
    tr, he = load_ids(data_dir, "train"), load_ids(data_dir, "heldout")
    counts = np.bincount(tr, minlength=n_vocab).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    scored = np.ones(he.size, dtype=bool)
    scored[::n_ctx] = False
    nll = -logp[he[scored]].mean()
    return {"heldout_nll": float(nll), "heldout_ppl": float(math.exp(nll)),
            "smoothing": "add-one", "n_ctx": n_ctx, "tokens_scored": int(scored.sum())}


class Batches:
    """Random windows of n_ctx + 1 tokens of the training stream.

    Batch `step` depends only on (seed, step), so a resumed run sees the same
    batches. A fraction `p_bos` of the windows starts at a chapter's BOS, the
    way a prompt starts; the others start anywhere."""

    def __init__(self, ids: np.ndarray, bos: int, n_ctx: int, batch: int, seed: int,
                 p_bos: float = 0.25):
        self.ids = torch.from_numpy(ids)
        self.bos_pos = np.flatnonzero(ids == bos)
        self.bos_pos = self.bos_pos[self.bos_pos + n_ctx + 1 <= len(ids)]
        self.n_ctx, self.batch, self.seed, self.p_bos = n_ctx, batch, seed, p_bos

    def get(self, step: int) -> torch.Tensor:
        g = np.random.default_rng([self.seed, step])
        starts = g.integers(0, len(self.ids) - self.n_ctx - 1, size=self.batch)
        at_bos = g.random(self.batch) < self.p_bos
        pick = self.bos_pos[g.integers(0, len(self.bos_pos), size=self.batch)]
        starts = np.where(at_bos, pick, starts)
        return torch.stack([self.ids[s:s + self.n_ctx + 1] for s in starts])


def eval_windows(ids: np.ndarray, n_ctx: int, max_windows: int | None = None) -> list:
    """Consecutive windows of n_ctx tokens (the last one shorter), as
    bitnet-perplexity cuts them; each is scored from its second token on."""
    w = [torch.from_numpy(ids[s:s + n_ctx]) for s in range(0, len(ids) - 1, n_ctx)]
    return w[:max_windows] if max_windows is not None else w
