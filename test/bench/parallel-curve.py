#!/usr/bin/python3
"""Aggregate decode speed of N sequences decoding together (issue 14's curve).

For each round, bitnet-bench runs once per sequence count N (interleaved, so
that every N sees the same stretch of the machine): N prompts of --prompt
tokens in one context, then --gen steps that decode one token of each.
N = 1 is plain single-sequence decoding. Prints, per N, the median and range
of aggregate decode tokens/s over the rounds, and the median of the per-round
ratios to N = 1, plus the KV bytes per sequence at 4096 positions.

Usage: parallel-curve.py BITNET_BENCH MODEL [--rounds 5] [--threads 2]
       [--prompt 32] [--gen 32] [--counts 1,2,4,8,16,32] [--shared-prompt]
Environment (e.g. BITNET_CPU_LEVEL=avx512vnni) passes through to bitnet-bench.
"""
import argparse
import json
import statistics
import subprocess
import sys


def run(bench, model, n, a):
    cmd = [bench, "-m", model, "-t", str(a.threads), "-p", str(a.prompt), "-n", str(a.gen),
           "-R", "1", "-r", "1", "--no-bandwidth", "--json"]
    if n > 1:
        cmd += ["--parallel", str(n)] + (["--shared-prompt"] if a.shared_prompt else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=1800).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench")
    p.add_argument("model")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt", type=int, default=32)
    p.add_argument("--gen", type=int, default=32)
    p.add_argument("--counts", default="1,2,4,8,16,32")
    p.add_argument("--shared-prompt", action="store_true")
    a = p.parse_args()
    counts = [int(c) for c in a.counts.split(",")]
    tg = {n: [] for n in counts}
    kv = {}
    kernels = ""
    for r in range(a.rounds):
        for n in counts:
            j = run(a.bench, a.model, n, a)
            tg[n].append(j["tg"]["median"])
            kernels = j["kernels"]
            if "parallel" in j:
                kv[n] = j["parallel"]["kv_bytes_per_sequence_4096"]
        print(f"round {r + 1}: " + ", ".join(f"{n}: {tg[n][-1]:.2f}" for n in counts), file=sys.stderr)
    print(f"kernels: {kernels}; {a.threads} threads; prompt {a.prompt}, decode {a.gen} per sequence; "
          f"{a.rounds} interleaved rounds")
    print("| sequences | aggregate decode tok/s, median (range) | per sequence | x one sequence (median of per-round ratios) |")
    print("|---|---|---|---|")
    for n in counts:
        ratios = [t / b for t, b in zip(tg[n], tg[counts[0]])]
        print(f"| {n} | {statistics.median(tg[n]):.2f} ({min(tg[n]):.2f}-{max(tg[n]):.2f}) | "
              f"{statistics.median(tg[n]) / n:.2f} | {statistics.median(ratios):.2f} |")
    if kv:
        print(f"KV cache per sequence at 4096 positions (F16): {max(kv.values()) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
