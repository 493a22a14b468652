"""Fidelity reference for test/train: PyTorch logits of the exported model.

Writes to OUT:
  ref_tokens.txt  n_seq lines of token ids (each starts with BOS at the start
                  of a held-out chapter)
  ref_logits.f32  little-endian f32 [n_seq][len][n_vocab]: logits of every
                  position, from BitNet.forward on the ternary weights read
                  back from the GGUF file, in f64 (exact integer sums, then
                  * s / gamma, as libbitnet computes)
  ref_meta.txt    key value lines: sizes, the model file's size and FNV-1a 64
                  hash (the test refuses a different model), and the distance
                  between PyTorch's own f32 and f64 runs
  tok_lines.txt   held-out verses, one per line
  tok_ids.txt     the ids of each of those lines (with its newline) by our
                  tokenizer, one line each, for the check of bn_tokenize
"""
from __future__ import annotations

import os

import numpy as np
import torch

from . import data, export
from .bpe import Tokenizer


def fnv1a64(path: str) -> int:
    h = 0xCBF29CE484222325
    buf = np.frombuffer(open(path, "rb").read(), dtype=np.uint8)
    for b in buf.tolist():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def sequences(data_dir: str, bos: int, n_seq: int, length: int) -> np.ndarray:
    held = data.load_ids(data_dir, "heldout")
    starts = np.flatnonzero(held == bos)
    # spread over the held-out chapters (different books)
    pick = starts[np.linspace(0, len(starts) - 1, n_seq).round().astype(int)]
    return np.stack([held[s:s + length] for s in pick]).astype(np.int64)


def make(a):
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    tok = Tokenizer.load(os.path.join(a.data, "tokenizer.json"))
    seqs = sequences(a.data, tok.bos, a.n_seq, a.len)
    m64, kv = export.load_gguf(a.model, torch.float64)
    m32, _ = export.load_gguf(a.model, torch.float32)
    with torch.no_grad():
        l64 = m64(torch.from_numpy(seqs)).numpy()
        l32 = m32(torch.from_numpy(seqs)).double().numpy()
    d = np.abs(l64 - l32)
    top2 = np.sort(l64, axis=-1)[..., -2:]
    margin = top2[..., 1] - top2[..., 0]
    l64.astype("<f4").tofile(os.path.join(a.out, "ref_logits.f32"))
    with open(os.path.join(a.out, "ref_tokens.txt"), "w") as f:
        for s in seqs:
            f.write(" ".join(map(str, s.tolist())) + "\n")
    with open(os.path.join(a.out, "ref_meta.txt"), "w") as f:
        f.write(f"n_seq {a.n_seq}\nlen {a.len}\nn_vocab {kv['bitnet-b1.58.vocab_size']}\n")
        f.write(f"model_size {os.path.getsize(a.model)}\n")
        f.write(f"model_fnv1a64 {fnv1a64(a.model):016x}\n")
        f.write(f"torch_f32_vs_f64_max {d.max():.6g}\ntorch_f32_vs_f64_rms {np.sqrt((d**2).mean()):.6g}\n")
        f.write(f"logit_std {l64.std():.6g}\nmin_top1_margin {margin.min():.6g}\n")
    lines = open(os.path.join(a.data, "heldout.txt"), encoding="utf-8").read().split("\n")
    lines = [ln for ln in lines if ln][:a.tok_lines]
    with open(os.path.join(a.out, "tok_lines.txt"), "w", encoding="utf-8") as f:
        f.write("".join(ln + "\n" for ln in lines))
    with open(os.path.join(a.out, "tok_ids.txt"), "w") as f:
        for ln in lines:
            f.write(" ".join(map(str, tok.encode(ln + "\n"))) + "\n")
    print(f"reference: {a.n_seq} x {a.len} positions; PyTorch f32 vs f64: max {d.max():.3g}, "
          f"rms {np.sqrt((d ** 2).mean()):.3g}; logit std {l64.std():.3g}; "
          f"{len(lines)} tokenizer lines")
