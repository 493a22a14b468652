#!/usr/bin/python3
"""Decode speed and bytes per token of mixed-precision plans (issue 19).

Writes the synthetic model (bitnet-mkmodel, seed 1, the same ternary weights in
every file) once per precision plan into DIR (kept, so a second run reuses
them), then runs bitnet-bench on every file in each round, interleaved (each
plan sees the same stretch of the machine). Prints a markdown table: decode
tokens/s median (range) over the rounds, the median of the per-round ratios
to the all-ternary file, the file size and the bytes read per decoded token.

Usage: plan-speed.py BITNET_BENCH BITNET_MKMODEL DIR [--rounds 5] [--threads 2]
       [--prompt 32] [--gen 64] [--shape 2b4t] [--f16] [--mkmodel-args "..."]
The 2B4T files take about 1.2 GB (I2_S) to 2.9 GB (every linear Q8_0), 8.5 GB
together; --f16 adds every linear at F16 (about 4.8 GB). --shape small with few tokens checks the
script in seconds. Environment (e.g. BITNET_CPU_LEVEL) passes to bitnet-bench.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

KINDS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def every(typ):
    return ",".join(f"{k}={typ}" for k in KINDS)


# (file name suffix, what the table calls it, --plan)
PLANS = [
    ("i2_s", "all ternary (I2_S)", ""),
    ("attn_output-q8_0", "`attn_output=q8_0`", "attn_output=q8_0"),
    ("attn_output-q4_0", "`attn_output=q4_0`", "attn_output=q4_0"),
    ("all-q4_0", "every linear `q4_0`", every("q4_0")),
    ("all-q8_0", "every linear `q8_0`", every("q8_0")),
]
F16 = ("all-f16", "every linear `f16`", every("f16"))


def make(mkmodel, path, plan, a):
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    cmd = [mkmodel, "--shape", a.shape, "--seed", "1", "--type", "i2_s", "-o", path + ".tmp"]
    cmd += (["--plan", plan] if plan else []) + shlex.split(a.mkmodel_args)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    os.replace(path + ".tmp", path)


def bench(exe, path, a):
    cmd = [exe, "-m", path, "-t", str(a.threads), "-p", str(a.prompt), "-n", str(a.gen),
           "-R", "1", "-r", "1", "--no-bandwidth", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=1800).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench")
    p.add_argument("mkmodel")
    p.add_argument("dir")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt", type=int, default=32)
    p.add_argument("--gen", type=int, default=64)
    p.add_argument("--shape", default="2b4t")
    p.add_argument("--f16", action="store_true", help="also every linear at F16")
    p.add_argument("--mkmodel-args", default="", help="more bitnet-mkmodel options")
    a = p.parse_args()
    plans = PLANS + ([F16] if a.f16 else [])
    os.makedirs(a.dir, exist_ok=True)
    tag = a.shape + ("-" + "".join(shlex.split(a.mkmodel_args)).replace("-", "")
                     if a.mkmodel_args else "")
    paths = {}
    for name, _, plan in plans:
        paths[name] = os.path.join(a.dir, f"{tag}-{name}.gguf")
        make(a.mkmodel, paths[name], plan, a)
    tg = {name: [] for name, _, _ in plans}
    info = {}
    for r in range(a.rounds):
        for name, _, _ in plans:
            j = bench(a.bench, paths[name], a)
            tg[name].append(j["tg"]["median"])
            info[name] = j
        print(f"round {r + 1}: " + ", ".join(f"{n}: {tg[n][-1]:.2f}" for n in tg), file=sys.stderr)
    base = plans[0][0]
    print(f"{a.shape} shape (bitnet-mkmodel --seed 1 {a.mkmodel_args}); {a.threads} threads; "
          f"prompt {a.prompt}, {a.gen} decoded tokens; {a.rounds} interleaved rounds; "
          f"kernels of the all-ternary file: {info[base]['kernels']}")
    print("| plan | decode tok/s, median (range) | x all ternary (median of per-round ratios) "
          "| file bytes | bytes per token |")
    print("|---|---|---|---|---|")
    for name, label, _ in plans:
        t = tg[name]
        ratio = statistics.median(x / b for x, b in zip(t, tg[base]))
        print(f"| {label} | {statistics.median(t):.2f} ({min(t):.2f}–{max(t):.2f}) | "
              f"{ratio:.2f} | {os.path.getsize(paths[name]):,} | "
              f"{info[name]['bytes_per_token']:,} |".replace(",", " "))


if __name__ == "__main__":
    main()
