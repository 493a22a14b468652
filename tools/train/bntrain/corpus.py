"""The training corpus: the King James Bible as Debian's bible-kjv prints it.

`bible -f Gen1:1-Rev22:21` prints one verse per line, "Ge1:1 In the beginning
...". The reference is dropped; a chapter becomes its verses, one per line.
Every `holdout_every`-th chapter (counted over the whole Bible, starting at
`holdout_offset`) is held out, so the held-out part samples every book.
"""
from __future__ import annotations

import re
import subprocess

REF = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")


def read_bible(cmd=("bible", "-f", "Gen1:1-Rev22:21")) -> list[tuple[str, list[str]]]:
    """[(chapter reference, [verse text, ...]), ...] in canonical order."""
    out = subprocess.run(list(cmd), check=True, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}).stdout
    chapters: list[tuple[str, list[str]]] = []
    last = None
    for line in out.splitlines():
        m = REF.match(line)
        if not m:
            if line.strip() and chapters:  # a wrapped line: part of the verse above
                chapters[-1][1][-1] += " " + line.strip()
            continue
        book, ch, _, text = m.groups()
        key = f"{book}{ch}"
        if key != last:
            chapters.append((key, []))
            last = key
        chapters[-1][1].append(" ".join(text.split()))
    if len(chapters) != 1189:
        raise RuntimeError(f"expected the 1189 chapters of the KJV, got {len(chapters)}")
    return chapters


def chapter_text(verses: list[str]) -> str:
    return "".join(v + "\n" for v in verses)


def split(chapters, holdout_every: int = 20, holdout_offset: int = 10):
    """(train chapters, held-out chapters), each a list of chapter texts."""
    train, held = [], []
    for i, (_, verses) in enumerate(chapters):
        (held if i % holdout_every == holdout_offset else train).append(chapter_text(verses))
    return train, held
