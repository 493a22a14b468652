#!/usr/bin/python3
"""bitnet_train.py finetune against libbitnet (exit 77 = skipped).

LOGITS, PPL: the bitnet-logits and bitnet-perplexity programs of the build.
  test_finetune.py smoke LOGITS PPL     a few steps from models/default.gguf with per-channel
                                         scales and attn_output=q8_0,ffn_down=q4_0: the file
                                         loads in bitnet-perplexity, and bitnet-logits (F32 KV
                                         cache) gives PyTorch's f64 logits of the same weights
                                         within test/train's bound; bad options are refused
  test_finetune.py e2e LOGITS PPL       a longer run from models/default-weights.pt, stopped
                                         and resumed: the fine-tuned file scores the fine-tuning
                                         text better than the bundled model (bitnet-perplexity)
"""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(SRC, "tools", "train", "bitnet_train.py")
MODEL = os.path.join(SRC, "models", "default.gguf")
WEIGHTS = os.path.join(SRC, "models", "default-weights.pt")
DATA = os.path.join(SRC, "test", "train", "data")
TEXT = os.path.join(DATA, "tok_lines.txt")   # 300 held-out verses of the bundled model
# test_default_model.c, F32 KV cache: twice PyTorch's own f32-to-f64 distance
TOL_MAX, TOL_RMS = 0.25, 0.03
ENV = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")   # spinning threads stall a loaded machine


def run(args, ok=True):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    if ok and p.returncode:
        sys.exit(f"FAIL: {' '.join(args)} exited {p.returncode}:\n{p.stdout}")
    return p


def finetune(*extra):
    return run([sys.executable, TRAIN, "finetune", "--threads", "1", "--text", TEXT, *extra])


def perplexity(tools, model, text):
    out = run([tools[1], "-m", model, "-f", text, "-c", "128",
               "-t", "1", "--json"]).stdout
    for ln in out.splitlines():
        if ln.startswith("{"):
            return float(json.loads(ln)["perplexity"]), out
    sys.exit(f"FAIL: no JSON in the output of bitnet-perplexity:\n{out}")


def matches_pytorch(logits_exe, gguf, model, seqs, tmp, what, tol=(TOL_MAX, TOL_RMS),
                    close=None):
    """bitnet-logits (F32 KV cache) on each token sequence against `model`'s
    forward pass (PyTorch, f64) within test/train's bound (or `tol`): max and rms of
    |dlogit|, the same top-1 wherever PyTorch's lead exceeds twice the max,
    and such positions at least a quarter of all; with close = (t, f), at least
    the fraction f of the positions within t. Prints the distances."""
    import numpy as np
    import torch
    want, got = [], []
    raw = os.path.join(tmp, "logits.f32")
    for ids in seqs:
        run([logits_exe, "-m", gguf, "--tokens", ",".join(map(str, ids)),
             "--raw", raw, "--kv-f32", "--top", "1", "-t", "1"])
        with torch.no_grad():
            want.append(model(torch.tensor([ids]))[0].numpy())
        got.append(np.fromfile(raw, dtype="<f4").reshape(want[-1].shape))
    want, got = np.concatenate(want), np.concatenate(got)
    d = np.abs(want - got)
    top2 = np.sort(want, axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * d.max()
    same = (want.argmax(-1) == got.argmax(-1))[clear]
    rms = np.sqrt((d ** 2).mean())
    near = (d.max(1) <= close[0]).mean() if close else 1.0
    print(f"libbitnet vs PyTorch f64 ({what}): max {d.max():.4g}, rms {rms:.4g}, "
          f"logit std {want.std():.3g}; same top-1 at {same.sum()} of {clear.sum()} "
          f"clear positions" + (f"; {near:.0%} of positions within {close[0]}" if close else ""))
    return (d.max() <= tol[0] and rms <= tol[1] and same.all()
            and clear.sum() >= len(want) // 4 and near >= (close[1] if close else 0))


def refused(what, args, needle):
    p = run([sys.executable, TRAIN, "finetune", "--threads", "1", "--text", TEXT, *args], ok=False)
    if p.returncode == 0 or needle not in p.stdout:
        sys.exit(f"FAIL: {what} was not refused with a message containing '{needle}':\n{p.stdout}")
    print(f"ok: {what} refused")


def smoke(tools, tmp):
    import numpy as np
    import torch
    sys.path.insert(0, os.path.dirname(TRAIN))
    from bntrain import export, finetune as ft, gguf as gg, quant

    # Q8_0 / Q4_0 bytes as libbitnet (and llama.cpp) quantise: random rows, ties of
    # magnitude (+-max in one block), exact halves, zeros, tiny and huge values
    g = np.random.default_rng(5)
    x = [g.normal(0, 0.02, 32 * 512), np.zeros(32), np.tile([1.0, -1.0], 16),
         np.tile([-1.0, 1.0], 16), np.arange(32) - 15.5, (np.arange(32) - 16) / 16.0 * 127 / 8,
         g.normal(0, 1e-30, 32), g.normal(0, 1e30, 32), g.integers(-127, 128, 32) * 0.5]
    w = torch.from_numpy(np.concatenate(x).astype(np.float32)).reshape(-1, 32)
    fin = os.path.join(tmp, "w.f32")
    w.numpy().tofile(fin)
    for typ, qf, enc in (("q8_0", quant.q8_0, gg.encode_q8_0), ("q4_0", quant.q4_0, gg.encode_q4_0)):
        ref = os.path.join(tmp, typ + ".bin")
        run([tools[2], typ, fin, ref])
        q, d = qf(w)
        mine, want = enc(q.numpy(), d.numpy()), open(ref, "rb").read()
        if mine != want:
            bad = next(i for i in range(len(want)) if mine[i:i + 1] != want[i:i + 1])
            sys.exit(f"FAIL: {typ} bytes differ from libbitnet's from byte {bad}")
        print(f"ok: {typ} bytes of {w.shape[0]} blocks equal libbitnet's quantiser")

    # starting from a GGUF file reproduces its model (latent = codes * s / f)
    class A:
        init, plan, scales = MODEL, "", "per-tensor"
    start = ft.start_model(A)
    ref, _ = export.load_gguf(MODEL, torch.float64)
    ids = [int(x) for x in open(os.path.join(DATA, "ref_tokens.txt")).readline().split()]
    with torch.no_grad():
        start = start.double().eval()
        d0 = (start(torch.tensor([ids])) - ref(torch.tensor([ids]))).abs().max().item()
    if d0 > 1e-3:
        sys.exit(f"FAIL: the model started from {MODEL} differs from it by {d0} in a logit")
    print(f"ok: starting from the GGUF file reproduces it (max |dlogit| {d0:.2g})")

    out = os.path.join(tmp, "ft")
    gguf = os.path.join(tmp, "mixed.gguf")
    finetune("--init", MODEL, "--out", out, "-o", gguf, "--steps", "3", "--batch", "2",
             "--ctx", "64", "--warmup", "1", "--log-every", "1", "--eval-every", "3",
             "--eval-windows", "2", "--scales", "per-channel",
             "--plan", "attn_output=q8_0,ffn_down=q4_0")
    ppl, log = perplexity(tools, gguf, TEXT)
    if not 1.0 < ppl < 200.0:
        sys.exit(f"FAIL: perplexity {ppl} of the fine-tuned file:\n{log}")
    print(f"ok: {gguf} loads in libbitnet; perplexity {ppl:.3f} on the text")

    m, _ = export.load_gguf(gguf, torch.float64)
    if m.cfg.plan != "attn_output=q8_0,ffn_down=q4_0" or not m.cfg.per_channel:
        sys.exit(f"FAIL: the file reads back as {m.cfg}")
    if not matches_pytorch(tools[0], gguf, m, [ids], tmp,
                           "per-channel TQ2_0, Q8_0 attn_output, Q4_0 ffn_down"):
        sys.exit("FAIL: beyond the bound of test/train")

    refused("--act-bits 4", ["--init", MODEL, "--out", out, "--act-bits", "4"], "8-bit")
    refused("per-channel scales in I2_S", ["--init", MODEL, "--out", out, "--scales",
                                           "per-channel", "--type", "i2_s"], "I2_S")
    refused("an unknown plan kind", ["--init", MODEL, "--out", out, "--plan", "attn_x=q8_0"],
            "unknown kind")


def e2e(tools, tmp):
    out = os.path.join(tmp, "ft")
    gguf = os.path.join(tmp, "ft.gguf")
    common = ["--init", WEIGHTS, "--tokenizer", MODEL, "--out", out, "-o", gguf, "--batch", "8",
              "--ctx", "128", "--warmup", "10", "--log-every", "10", "--eval-every", "20",
              "--lr", "5e-4", "--heldout-frac", "0.1"]
    finetune(*common, "--steps", "40")
    p = finetune(*common, "--steps", "80")
    if "resumed from" not in p.stdout or '"step": 80' not in p.stdout:
        sys.exit(f"FAIL: the second run did not resume to step 80:\n{p.stdout}")
    print(p.stdout)
    train_part = os.path.join(tmp, "train.txt")
    lines = open(TEXT, encoding="utf-8").read().splitlines(keepends=True)
    with open(train_part, "w", encoding="utf-8") as f:
        f.write("".join(lines[:len(lines) - int(len(lines) * 0.1)]))
    before, _ = perplexity(tools, MODEL, train_part)
    after, _ = perplexity(tools, gguf, train_part)
    print(f"perplexity on the fine-tuning text: bundled model {before:.3f}, fine-tuned {after:.3f}")
    if not after < before:
        sys.exit("FAIL: fine-tuning did not lower the perplexity of its own text")


def need_torch(who):
    """Exits 77 (skipped), saying why, without numpy and PyTorch."""
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {e}: {who} needs Debian's python3-torch "
              f"(apt-get install python3-torch, or tools/setup-debian.sh --ci or --train)")
        sys.exit(77)


def main():
    if sys.argv[1:2] not in (["smoke"], ["e2e"]) or len(sys.argv) != (5 if sys.argv[1] == "smoke" else 4):
        sys.exit(__doc__)
    need_torch("bitnet_train.py")
    with tempfile.TemporaryDirectory() as tmp:
        (smoke if sys.argv[1] == "smoke" else e2e)(sys.argv[2:], tmp)
    print("PASS")


if __name__ == "__main__":
    main()
