#!/usr/bin/python3
"""Decode against the roofline, per output-head type and CPU level (issue 15).

Each round runs bitnet-bench once per variant, interleaved so that every
variant sees the same stretch of the machine: the F16 head, the Q8_0 head
(--output-q8) and the Q4_0 head (--output-q4), each at the best level and at
BITNET_CPU_LEVEL=avx2 (x86-64; on arm64 give --levels best,neon). Every run
measures the machine's read bandwidth just before decoding (bitnet-bench's
probe) and reports decode tokens/s and their fraction of the roofline
(bandwidth / bytes read per token). Prints per variant the median and range
over the rounds, then the medians of the per-round ratios: best level over
the lower level for each head (target >= 0.98) and each head over the F16
head at the best level (issue 15: the Q4_0 head >= 2.15x).

Each run starts --pause seconds (default 10) after the last one ended. On the
2-vCPU VMs of issue 15, a run started right after another one's end decoded
at its usual speed only now and then: the Q4_0 head at the AVX2 level read
at 72 and 78 % of the roofline straight after a best-level run, at 84-89 %
with 8 s between the two (3 alternated pairs), and a second run of the same
library straight after the first was slower in 3 of 4 pairs (doc/design.md).

Usage: decode-roofline.py BITNET_BENCH MODEL [--rounds 7] [--threads 2]
       [--gen 64] [--levels best,avx2] [--heads f16,q8,q4] [--pause 10]
Other environment (e.g. BITNET_KERNEL_PICK) passes through to bitnet-bench.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HEAD_FLAGS = {"f16": [], "q8": ["--output-q8"], "q4": ["--output-q4"]}


def run(bench, model, head, level, a):
    env = dict(os.environ)
    if level != "best":
        env["BITNET_CPU_LEVEL"] = level
    cmd = [bench, "-m", model, "-t", str(a.threads), "-p", "0", "-n", str(a.gen), "-R", "1", "-r", "1",
           "--json"] + HEAD_FLAGS[head]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=1800, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def med_range(v, fmt="%.2f"):
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(v), min(v), max(v))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench")
    p.add_argument("model")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gen", type=int, default=64)
    p.add_argument("--levels", default="best,avx2")
    p.add_argument("--heads", default="f16,q8,q4")
    p.add_argument("--pause", type=float, default=10.0)
    a = p.parse_args()
    levels = a.levels.split(",")
    heads = a.heads.split(",")
    variants = [(h, l) for h in heads for l in levels]
    tg = {v: [] for v in variants}
    frac = {v: [] for v in variants}
    bw = {v: [] for v in variants}
    info = {}
    for r in range(a.rounds):
        for i, v in enumerate(variants):
            if r or i:
                time.sleep(a.pause)
            j = run(a.bench, a.model, v[0], v[1], a)
            tg[v].append(j["tg"]["median"])
            frac[v].append(j["tg_roofline_fraction"]["median"])
            bw[v].append(j["bandwidth_gbps"]["median"])
            info[v] = (j["kernels"], j["bytes_per_token"])
        print("round %d: " % (r + 1) + ", ".join("%s/%s %.2f" % (v[0], v[1], tg[v][-1]) for v in variants),
              file=sys.stderr, flush=True)
    print("%d threads, %d decoded tokens per run, %d interleaved rounds" % (a.threads, a.gen, a.rounds))
    print()
    print("| head | level | kernels | GB per token | decode tok/s | read GB/s (probe) | of the roofline |")
    print("|---|---|---|---|---|---|---|")
    for v in variants:
        print("| %s | %s | %s | %.3f | %s | %s | %s |" % (v[0], v[1], info[v][0], info[v][1] / 1e9, med_range(tg[v]),
                                                       med_range(bw[v], "%.1f"),
                                                       med_range([100 * f for f in frac[v]], "%.0f %%")))
    print()
    print("Medians of per-round ratios:")
    for h in heads:
        for l in levels[1:]:
            r = [x / y for x, y in zip(tg[(h, levels[0])], tg[(h, l)])]
            print("- %s head, %s over %s: %s" % (h, levels[0], l, med_range(r, "%.3f")))
    for h in heads[1:]:
        for l in levels:
            r = [x / y for x, y in zip(tg[(h, l)], tg[(heads[0], l)])]
            print("- %s head over %s head at %s: %s" % (h, heads[0], l, med_range(r, "%.3f")))


if __name__ == "__main__":
    main()
