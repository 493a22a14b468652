"""10,000 model+context+sampler create/free cycles do not grow the process.

About 20 s: marked slow (meson's `python-slow` test in the slow suite, and
the CI's Python step). Run alone: pytest -m slow tests/test_memory.py
"""
from __future__ import annotations

import gc
import os

import pytest

import bitnet

CYCLES = 10_000
WARMUP = 1_000
LIMIT = 1 << 20     # bytes of RSS growth allowed between WARMUP and CYCLES


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_create_free_cycles_do_not_leak(model_path: str) -> None:
    before = 0
    for i in range(1, CYCLES + 1):
        with bitnet.Model(model_path) as m, m.context(n_ctx=64, n_threads=1) as c, \
                m.sampler(seed=i) as s:
            if i % 1000 == 0:
                c.decode([1])
                s.sample(c)
        if i == WARMUP:
            gc.collect()
            before = rss()
    gc.collect()
    after = rss()
    print(f"RSS after {WARMUP} cycles {before / 1e6:.2f} MB, after {CYCLES} "
          f"{after / 1e6:.2f} MB: {after - before:+d} bytes")
    assert after - before < LIMIT
