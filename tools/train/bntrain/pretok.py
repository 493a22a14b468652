"""Pre-tokenizers of byte-level BPE vocabularies, exactly as named in GGUF.

`tokenizer.ggml.pre` names a regex that cuts text into pieces before BPE runs
on each piece (FORMATS.md, "Tokenizer facts"):

  llama-bpe  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|
              ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
  gpt2       's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

Python's `re` has no \\p{..}: the classes are spelled out as explicit
character ranges built from the Unicode Character Database, with the same
definitions libbitnet uses (lib/tokenizer/gen_unicode_table.py):
  \\p{L}  General_Category L*   \\p{N}  General_Category N*
  \\s     the White_Space property (PropList.txt)
Read from Debian's unicode-data files when installed, else from Python's
unicodedata module (whose Unicode version may differ; only characters new in
one of the two versions could then be classed differently).
The case-insensitive contractions fold ASCII only ([sS]...), as llama.cpp does
(Python's (?i) would also fold U+017F LATIN SMALL LETTER LONG S to 's').
"""
from __future__ import annotations

import functools
import os
import re
import unicodedata

UCD_DIR = "/usr/share/unicode"
N_CP = 0x110000


def _ranges(flags: bytearray, bit: int) -> list[tuple[int, int]]:
    out, lo = [], None
    for cp in range(N_CP + 1):
        on = cp < N_CP and bool(flags[cp] & bit)
        if on and lo is None:
            lo = cp
        elif not on and lo is not None:
            out.append((lo, cp - 1))
            lo = None
    return out


@functools.lru_cache(maxsize=1)
def unicode_classes() -> tuple[str, str, str, str]:
    """(letter, number, space) as regex class bodies, and where they came from."""
    L, N, S = 1, 2, 4
    cls = bytearray(N_CP)
    ucd = os.path.join(UCD_DIR, "UnicodeData.txt")
    props = os.path.join(UCD_DIR, "PropList.txt")
    if os.path.exists(ucd) and os.path.exists(props):
        source = ucd
        first = None
        with open(ucd, encoding="utf-8") as f:
            for line in f:
                fields = line.rstrip("\n").split(";")
                if len(fields) < 3:
                    continue
                cp, name, gc = int(fields[0], 16), fields[1], fields[2]
                c = L if gc.startswith("L") else N if gc.startswith("N") else 0
                if name.endswith(", First>"):
                    first = cp
                    continue
                lo = first if name.endswith(", Last>") else cp
                first = None
                for x in range(lo, cp + 1):
                    cls[x] |= c
        pat = re.compile(r"^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*White_Space\b")
        with open(props, encoding="utf-8") as f:
            for line in f:
                m = pat.match(line)
                if m:
                    lo = int(m.group(1), 16)
                    hi = int(m.group(2), 16) if m.group(2) else lo
                    for x in range(lo, hi + 1):
                        cls[x] |= S
    else:
        source = f"python unicodedata {unicodedata.unidata_version}"
        for cp in range(N_CP):
            gc = unicodedata.category(chr(cp))
            cls[cp] = L if gc[0] == "L" else N if gc[0] == "N" else 0
        # White_Space (PropList.txt) has no unicodedata accessor: str.isspace()
        # differs from it only on U+001C..U+001F, which are not White_Space.
        for cp in range(N_CP):
            if chr(cp).isspace() and not 0x1C <= cp <= 0x1F:
                cls[cp] |= S

    def body(bit):
        return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}"
                       for a, b in _ranges(cls, bit))
    return body(L), body(N), body(S), source


@functools.lru_cache(maxsize=4)
def pattern(name: str) -> re.Pattern:
    Lc, Nc, Sc, _ = unicode_classes()
    if name == "llama-bpe":
        rx = (r"'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]"
              f"|[^\\r\\n{Lc}{Nc}]?[{Lc}]+"
              f"|[{Nc}]{{1,3}}"
              f"| ?[^{Sc}{Lc}{Nc}]+[\\r\\n]*"
              f"|[{Sc}]*[\\r\\n]+"
              f"|[{Sc}]+(?![^{Sc}])"
              f"|[{Sc}]+")
    elif name == "gpt2":
        rx = (r"'s|'t|'re|'ve|'m|'ll|'d"
              f"| ?[{Lc}]+"
              f"| ?[{Nc}]+"
              f"| ?[^{Sc}{Lc}{Nc}]+"
              f"|[{Sc}]+(?![^{Sc}])"
              f"|[{Sc}]+")
    else:
        raise ValueError(f"unknown pre-tokenizer {name!r} (llama-bpe or gpt2)")
    return re.compile(rx)


def split(text: str, name: str = "llama-bpe") -> list[str]:
    """The pieces of `text`; they concatenate back to `text`."""
    pieces = pattern(name).findall(text)
    assert sum(map(len, pieces)) == len(text), "pre-tokenizer lost characters"
    return pieces
