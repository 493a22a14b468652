"""Byte-level BPE (GPT-2 style): training on a corpus, and encoding.

Tokens are written as GPT-2 byte-to-unicode strings: each byte maps to one
printable character (printable Latin-1 bytes to themselves, the rest to
U+0100..), so a token is a string and a merge is "a b". This is the
vocabulary format of tokenizer.ggml.model = "gpt2" in GGUF.

The vocabulary: the 256 byte tokens (in byte order), then one token per
merge in rank order (a merge whose result already exists adds no token), then
the special tokens.
"""
from __future__ import annotations

import collections
import heapq
import json

from . import pretok

SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>"]


def byte_chars() -> list[str]:
    """GPT-2 bytes_to_unicode(): character of each byte value."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1))
            + list(range(0xAE, 0xFF + 1)))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


BYTE_CHARS = byte_chars()
CHAR_BYTE = {c: b for b, c in enumerate(BYTE_CHARS)}


def to_unicode(piece: str) -> str:
    return "".join(BYTE_CHARS[b] for b in piece.encode("utf-8"))


def train(text: str, n_vocab: int, pre: str = "llama-bpe", log=None) -> "Tokenizer":
    """Learns merges until the vocabulary (bytes + merges + specials) has n_vocab tokens.

    Pair counts are kept incrementally; ties between equally frequent pairs go
    to the lexicographically smallest (a, b), so training is deterministic."""
    n_target = n_vocab - len(SPECIALS)
    if n_target <= 256:
        raise ValueError("n_vocab too small for 256 byte tokens and the specials")
    counts = collections.Counter(pretok.split(text, pre))
    words = [list(to_unicode(w)) for w in counts]
    freqs = list(counts.values())

    pair_count: dict[tuple[str, str], int] = collections.defaultdict(int)
    pair_words: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for p in zip(w, w[1:]):
            pair_count[p] += f
            pair_words[p].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    tokens = list(BYTE_CHARS)
    known = set(tokens)
    merges: list[str] = []
    while len(tokens) < n_target and heap:
        c, p = heapq.heappop(heap)
        if pair_count.get(p, 0) != -c or c == 0:
            continue  # stale entry
        a, b = p
        new = a + b
        merges.append(f"{a} {b}")
        if new not in known:
            known.add(new)
            tokens.append(new)
        changed: set[tuple[str, str]] = set()
        for wi in list(pair_words[p]):
            w, f = words[wi], freqs[wi]
            for q in zip(w, w[1:]):
                pair_count[q] -= f
                changed.add(q)
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for q in zip(w, w[1:]):
                pair_words[q].discard(wi)
            for q in zip(out, out[1:]):
                pair_count[q] += f
                pair_words[q].add(wi)
                changed.add(q)
        pair_count.pop(p, None)
        for q in changed:
            n = pair_count.get(q, 0)
            if n > 0:
                heapq.heappush(heap, (-n, q))
            else:
                pair_count.pop(q, None)
        if log and len(merges) % 500 == 0:
            log(f"bpe: {len(merges)} merges, {len(tokens)} tokens, last {a!r}+{b!r} x{-c}")
    return Tokenizer(tokens + SPECIALS, merges, pre)


class Tokenizer:
    def __init__(self, tokens: list[str], merges: list[str], pre: str = "llama-bpe"):
        self.tokens = tokens
        self.merges = merges
        self.pre = pre
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.bos = self.ids["<|begin_of_text|>"]
        self.eos = self.ids["<|end_of_text|>"]
        self.types = [3 if t in SPECIALS else 1 for t in tokens]
        self._cache: dict[str, list[int]] = {}

    @property
    def n_vocab(self) -> int:
        return len(self.tokens)

    def _bpe(self, piece: str) -> list[int]:
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        w = list(to_unicode(piece))
        while len(w) > 1:
            best, bi = None, -1
            for i, p in enumerate(zip(w, w[1:])):
                r = self.ranks.get(p)
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            a, b = w[bi], w[bi + 1]
            out, i = [], 0
            while i < len(w):  # every occurrence, left to right (GPT-2)
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            w = out
        ids = [self.ids[t] for t in w]
        self._cache[piece] = ids
        return ids

    def encode(self, text: str, bos: bool = False) -> list[int]:
        out = [self.bos] if bos else []
        for piece in pretok.split(text, self.pre):
            out.extend(self._bpe(piece))
        return out

    def decode(self, ids) -> str:
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] == 3:
                continue
            bs.extend(CHAR_BYTE[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    def save(self, path: str):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"pre": self.pre, "tokens": self.tokens, "merges": self.merges}, f,
                      ensure_ascii=False)

    @staticmethod
    def load(path: str) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return Tokenizer(d["tokens"], d["merges"], d["pre"])
