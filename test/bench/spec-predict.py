#!/usr/bin/python3
"""Speculative decoding: acceptance on the committed repeating prompts, the
cost of checking k tokens on a model, and the decode speed-up they predict.

1. bitnet-bench --spec PROMPTS on the acceptance model (default: the bundled
   model, which has learnt real text): outputs must be identical; gives the
   acceptance rate and tokens per verification pass.
2. On the cost model (the 2B4T shape), for k = 1..9 interleaved rounds of
   bitnet-bench -p k -n 0: the time of one pass over k tokens relative to one
   token (median of per-round ratios).
3. The prediction: tokens per pass / cost of the mean pass, against 1.
   Also bitnet-bench --spec on the cost model itself (random weights: drafts
   are rarely accepted, so this is the free-generation case, which must stay
   >= 0.95x).

Usage: spec-predict.py BITNET_BENCH PROMPTS COST_MODEL [--accept-model M]
       [--rounds 5] [--threads 2] [--gen 128] [--draft 8]
"""
import argparse
import json
import os
import statistics
import subprocess


def bench(bench_exe, args):
    out = subprocess.run([bench_exe] + args + ["--json"], check=True, capture_output=True, text=True,
                         timeout=3600).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench")
    p.add_argument("prompts")
    p.add_argument("cost_model")
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--accept-model", default=os.path.join(here, "..", "..", "models", "default.gguf"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gen", type=int, default=128)
    p.add_argument("--draft", type=int, default=8)
    a = p.parse_args()
    t = ["-t", str(a.threads)]
    s = bench(a.bench, ["-m", a.accept_model, "--spec", a.prompts, "-n", str(a.gen), "--draft", str(a.draft)] + t)["spec"]
    print(f"acceptance model {a.accept_model}: {s['prompts']} prompts, {s['tokens']} tokens, outputs "
          f"{'identical' if s['same_output'] else 'DIFFER'}; acceptance {100 * s['acceptance']:.1f} %, "
          f"{s['tokens_per_pass']:.2f} tokens per pass; measured there {s['speedup']:.2f}x")
    ks = list(range(1, a.draft + 2))
    times = {k: [] for k in ks}
    for r in range(a.rounds):
        for k in ks:
            j = bench(a.bench, ["-m", a.cost_model, "-p", str(k), "-n", "0", "-R", "1", "-r", "3",
                                "--no-bandwidth"] + t)
            times[k].append(k / j["pp"]["median"])
    cost = {k: statistics.median([x / y for x, y in zip(times[k], times[1])]) for k in ks}
    print(f"cost model {a.cost_model}, {a.rounds} interleaved rounds: time of a pass over k tokens / one token:")
    print("  " + ", ".join(f"k={k}: {cost[k]:.2f}" for k in ks))
    # the mean pass checks 1 + drafted/passes tokens
    mean_k = 1 + s["drafted"] / max(s["passes"], 1)
    lo = int(mean_k)
    c = cost[min(lo, ks[-1])] + (mean_k - lo) * (cost[min(lo + 1, ks[-1])] - cost[min(lo, ks[-1])])
    print(f"predicted decode speed-up on the repeating set: {s['tokens_per_pass']:.2f} tokens per pass / "
          f"cost {c:.2f} of a {mean_k:.2f}-token pass = {s['tokens_per_pass'] / c:.2f}x")
    f = bench(a.bench, ["-m", a.cost_model, "--spec", a.prompts, "-n", str(a.gen // 2), "--draft", str(a.draft)] + t)["spec"]
    print(f"on the cost model itself (free generation, drafts rarely accepted): {f['speedup']:.2f}x, "
          f"acceptance {100 * f['acceptance']:.1f} %, outputs {'identical' if f['same_output'] else 'DIFFER'}")


if __name__ == "__main__":
    main()
