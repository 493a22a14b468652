#!/usr/bin/python3
"""What each quantisation setting costs and buys: the bundled model fine-tuned
under each setting with the same budget, one run after another, then scored by
bitnet-perplexity on the held-out chapters (doc/training.md, "Measured").

    nohup nice -n 19 /usr/bin/python3 tools/train/measure_plans.py \
        --perplexity build/examples/bitnet-perplexity --out build/plans &

Fine-tuning text: the training part of the bundled model's split (the chapters
it was trained on: it learns nothing new, so the table shows what each setting
costs); held-out text: its held-out chapters. Every run uses one thread.
OUT/results.jsonl gets a line per setting (a setting already there is not run
again, so the same command resumes an interrupted measurement); the markdown
table is printed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TRAIN = os.path.join(HERE, "bitnet_train.py")
WEIGHTS = os.path.join(SRC, "models", "default-weights.pt")
MODEL = os.path.join(SRC, "models", "default.gguf")
KINDS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def every(typ: str) -> str:
    return ",".join(f"{k}={typ}" for k in KINDS)


# (name, what the table calls it, finetune options)
SETTINGS = [
    ("ternary", "all ternary, per-tensor scales", []),
    ("per-channel", "per-channel scales", ["--scales", "per-channel"]),
    ("attn_output-q8_0", "`attn_output=q8_0`", ["--plan", "attn_output=q8_0"]),
    ("attn_output-q4_0", "`attn_output=q4_0`", ["--plan", "attn_output=q4_0"]),
    ("all-q4_0", "every linear `q4_0`", ["--plan", every("q4_0")]),
    ("all-f16", "every linear `f16` (the upper bound)", ["--plan", every("f16")]),
]

# one thread, no spinning: the machine is shared
ENV = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")


def texts(out: str) -> tuple[str, str]:
    """The bundled model's training and held-out chapters as text files."""
    tr_path, he_path = os.path.join(out, "train.txt"), os.path.join(out, "heldout.txt")
    if not os.path.exists(he_path):
        sys.path.insert(0, HERE)
        from bntrain import corpus
        tr, he = corpus.split(corpus.read_bible())
        with open(tr_path, "w", encoding="utf-8") as f:
            f.write("".join(tr))
        with open(he_path + ".tmp", "w", encoding="utf-8") as f:
            f.write("".join(he))
        os.replace(he_path + ".tmp", he_path)
    return tr_path, he_path


def perplexity(exe: str, model: str, text: str) -> dict:
    p = subprocess.run([exe, "-m", model, "-f", text, "-c", "256", "-t", "1", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    for ln in p.stdout.splitlines():
        if ln.startswith("{"):
            return json.loads(ln)
    raise SystemExit(f"bitnet-perplexity on {model} failed:\n{p.stdout}")


def finetune_cmd(a, name: str, opts: list[str], train_txt: str) -> list[str]:
    run = os.path.join(a.out, name)
    return [sys.executable, TRAIN, "finetune", "--init", WEIGHTS, "--tokenizer", MODEL,
            "--text", train_txt, "--heldout-frac", "0.01", "--out", run,
            "-o", run + ".gguf", "--steps", str(a.steps), "--batch", str(a.batch),
            "--ctx", str(a.ctx), "--warmup", str(a.warmup), "--lr", str(a.lr),
            "--weight-decay", "0.01", "--clip", "1.0", "--threads", "1",
            "--log-every", "20", "--eval-every", str(a.steps), "--eval-windows", "4",
            "--max-minutes", str(a.max_minutes), "--seed", str(a.seed), *opts]


def measure(a, name: str, opts: list[str], train_txt: str, held_txt: str) -> dict:
    cmd = finetune_cmd(a, name, opts, train_txt)
    print("$", " ".join(cmd), flush=True)
    t0 = time.time()
    with open(os.path.join(a.out, name + ".log"), "w") as logf:
        rc = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, env=ENV).returncode
    if rc:
        raise SystemExit(f"{name}: finetune exited {rc}; see {a.out}/{name}.log")
    wall = time.time() - t0
    run = os.path.join(a.out, name)
    log = [json.loads(ln) for ln in open(os.path.join(run, "log.jsonl"))]
    speeds = [r["tok_per_s"] for r in log if r.get("tok_per_s")]
    ppl = perplexity(a.perplexity, run + ".gguf", held_txt)
    return {"name": name, "steps": log[-1]["step"], "train_minutes": log[-1]["minutes"],
            "wall_minutes": round(wall / 60, 2),
            "train_tok_per_s_median": statistics.median(speeds) if speeds else None,
            "train_tok_per_s_range": [min(speeds), max(speeds)] if speeds else None,
            "bytes": os.path.getsize(run + ".gguf"), "perplexity": ppl["perplexity"],
            "tokens_scored": ppl["tokens_scored"], "ppl_tok_per_s": ppl["tokens_per_second"],
            "type": _file_types(run + ".gguf"), "opts": opts}


def _file_types(path: str) -> str:
    sys.path.insert(0, HERE)
    from bntrain import gguf
    r = gguf.Reader(path)
    seen = []
    for n, (_, tt, _) in r.tensors.items():
        if n.startswith("blk.") and not n.endswith("norm.weight"):
            t = gguf.TYPE_NAMES.get(tt, str(tt))
            if t not in seen:
                seen.append(t)
    return " + ".join(seen)


def _n(k: int) -> str:
    return f"{k:,}".replace(",", " ")


def table(results: list[dict], base: dict) -> str:
    rows = ["| setting (start: `models/default-weights.pt`) | linears | bytes | held-out ppl "
            "| fine-tuning tok/s, median (range) | steps |",
            "|---|---|---|---|---|---|",
            f"| bundled model, not fine-tuned | I2_S | {_n(base['bytes'])} | "
            f"{base['perplexity']:.3f} | | |"]
    label = {n: t for n, t, _ in SETTINGS}
    for r in results:
        lo, hi = r["train_tok_per_s_range"] or (0, 0)
        rows.append(f"| {label.get(r['name'], r['name'])} | {r['type']} | {_n(r['bytes'])}"
                    f" | {r['perplexity']:.3f} | {r['train_tok_per_s_median']:.0f} "
                    f"({lo:.0f}–{hi:.0f}) | {r['steps']} |")
    return "\n".join(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--perplexity", required=True, help="the bitnet-perplexity program")
    p.add_argument("--out", default="build/plans")
    p.add_argument("--only", help="comma-separated setting names (default: all): " +
                   ", ".join(n for n, _, _ in SETTINGS))
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--ctx", type=int, default=128)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=1,
                   help="the batches' seed (another seed in another --out: the spread of one setting)")
    p.add_argument("--max-minutes", type=float, default=20,
                   help="a run's time cap (it then exports what it has: see its steps)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    train_txt, held_txt = texts(a.out)
    res_path = os.path.join(a.out, "results.jsonl")
    done = {}
    if os.path.exists(res_path):
        for ln in open(res_path):
            r = json.loads(ln)
            done[r["name"]] = r
    only = set(a.only.split(",")) if a.only else None
    for name, _, opts in SETTINGS:
        if (only and name not in only) or name in done:
            continue
        r = measure(a, name, opts, train_txt, held_txt)
        done[name] = r
        with open(res_path, "a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r), flush=True)
    base = perplexity(a.perplexity, MODEL, held_txt)
    base["bytes"] = os.path.getsize(MODEL)
    print(table([done[n] for n, _, _ in SETTINGS if n in done], base))


if __name__ == "__main__":
    main()
