#!/usr/bin/python3
"""Synthetic Hugging Face checkpoints for bitnet-convert's tests.

Written from the published layouts (doc/convert.md cites them), not from
the converter, so that one misreading cannot hide in both:

  gguf2hf SRC.gguf DIR --layout L   export the weights of an I2_S/F32/F16 GGUF
                                    (a bitnet-mkmodel file, models/default.gguf)
                                    as checkpoint layout L:
      2b4t       BitNetForCausalLM, packed uint8 [out/4, in] + weight_scale
                 (weight = code * weight_scale), attn_sub_norm / ffn_sub_norm
      1bitllm    BitnetForCausalLM, float weights (code * scale, exact),
                 inner_attn_ln / ffn_layernorm, silu, untied lm_head
      llama      LlamaForCausalLM + quantization_config bitnet, packed weights
                 with weight_scale = 1 / scale (BitLinear divides), q/k rows in
                 the HF rotate-half order, untied lm_head
  torch2hf WEIGHTS.pt SRC.gguf DIR  tools/train's latent weights (models/default-weights.pt)
                                    as a BitNetForCausalLM master-weight checkpoint
                                    (needs python3-torch)
  master DIR_FLOAT DIR_PACKED --layout 2b4t-bf16|1bitllm
                                    random full-precision master weights, and
                                    the same model ternarised here with absmean
                                    in the packed 2B4T layout: both must convert
                                    to the same GGUF tensors
  --shards N splits the weights over N files with model.safetensors.index.json.
  --merges pairs writes tokenizer.json merges as ["a", "b"] instead of "a b".
Safetensors are written by hand: 8-byte little-endian header length, JSON
header, raw little-endian data.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

# ---- GGUF reading (doc/formats.md, shared/FORMATS.md) ----------------------

GT = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1", 10: "<u8", 11: "<i8", 12: "<f8"}


class Gguf:
    def __init__(self, path):
        b = open(path, "rb").read()
        self.b = b
        assert b[:4] == b"GGUF", path
        self.p = 4
        ver = self.u(4)
        nt, nkv = self.u(8), self.u(8)
        self.kv = {}
        for _ in range(nkv):
            k = self.s()
            self.kv[k] = self.val(self.u(4))
        infos = []
        for _ in range(nt):
            name = self.s()
            nd = self.u(4)
            ne = [self.u(8) for _ in range(nd)]
            infos.append((name, ne, self.u(4), self.u(8)))
        al = self.kv.get("general.alignment", 32)
        data = (self.p + al - 1) // al * al
        self.t = {n: (ne, ty, data + off) for n, ne, ty, off in infos}
        self.order = [i[0] for i in infos]
        del ver

    def u(self, n):
        v = int.from_bytes(self.b[self.p:self.p + n], "little")
        self.p += n
        return v

    def s(self):
        n = self.u(8)
        v = self.b[self.p:self.p + n].decode("utf-8", "surrogateescape")
        self.p += n
        return v

    def val(self, t):
        if t == 8:
            return self.s()
        if t == 9:
            et, n = self.u(4), self.u(8)
            if et == 8:
                return [self.s() for _ in range(n)]
            dt = np.dtype(GT[et])
            a = np.frombuffer(self.b, dt, n, self.p)
            self.p += n * dt.itemsize
            return a
        dt = np.dtype(GT[t])
        v = np.frombuffer(self.b, dt, 1, self.p)[0]
        self.p += dt.itemsize
        return bool(v) if t == 7 else v.item()

    def tensor(self, name):
        """Floats as float32 [rows, ne0]; ternary as (codes int8 in -1..1, f32 scale)."""
        ne, ty, off = self.t[name]
        n = int(np.prod(ne))
        shape = (n // ne[0], ne[0]) if len(ne) > 1 else (ne[0],)
        if ty == 0:
            return np.frombuffer(self.b, "<f4", n, off).reshape(shape).copy()
        if ty == 1:
            return np.frombuffer(self.b, "<f2", n, off).reshape(shape).copy()
        if ty == 36:
            # blocks of 128 weights in 32 bytes: byte k holds weights k, 32+k, 64+k, 96+k
            # in bits 7:6, 5:4, 3:2, 1:0; code 0 -> -1, 1 -> 0, 2 -> +1; f32 scale after
            q = np.frombuffer(self.b, np.uint8, n // 4, off).reshape(-1, 32)
            c = np.stack([(q >> 6) & 3, (q >> 4) & 3, (q >> 2) & 3, q & 3], axis=1).reshape(-1)
            assert (c != 3).all()
            s = np.frombuffer(self.b, "<f4", 1, off + n // 4)[0]
            return (c.astype(np.int8) - 1).reshape(shape), np.float32(s)
        raise SystemExit(f"{name}: tensor type {ty} not handled by the generator")


# ---- safetensors writing ----------------------------------------------------

ST_DT = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("u1"): "U8", "bf16": "BF16"}


def bf16(a):
    """float32 -> bfloat16 bits (round to nearest even), as uint16."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def write_safetensors(path, tensors):
    """tensors: list of (name, array or ('bf16', uint16 array))."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        if isinstance(a, tuple):
            dt, arr = "BF16", a[1]
        else:
            arr = np.ascontiguousarray(a)
            dt = ST_DT[arr.dtype]
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for r in blobs:
            f.write(r)


def write_model(d, tensors, shards):
    os.makedirs(d, exist_ok=True)
    if shards <= 1:
        write_safetensors(os.path.join(d, "model.safetensors"), tensors)
        return
    per = -(-len(tensors) // shards)
    wmap = {}
    for i in range(shards):
        fn = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = tensors[i * per:(i + 1) * per]
        write_safetensors(os.path.join(d, fn), part)
        wmap.update({n: fn for n, _ in part})
    json.dump({"metadata": {}, "weight_map": wmap}, open(os.path.join(d, "model.safetensors.index.json"), "w"))


def pack(codes):
    """int8 codes [out, in] in -1..1 -> uint8 [out/4, in]: row i*(out/4)+r in bits 2i of byte row r."""
    out = codes.shape[0]
    q = out // 4
    u = (codes + 1).astype(np.uint8)
    p = np.zeros((q, codes.shape[1]), np.uint8)
    for i in range(4):
        p |= u[i * q:(i + 1) * q] << (2 * i)
    return p


def hf_rope_order(w, n_head):
    """GGUF llama rows (pairs 2j, 2j+1) -> HF rows (pairs j, j+d/2): the inverse of
    llama.cpp's LlamaModel.permute."""
    rows = w.shape[0]
    d = rows // n_head
    return w.reshape(n_head, d // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# ---- tokenizer files ----------------------------------------------------------

LLAMA3_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def write_tokenizer_json(d, kv, pairs):
    toks = kv["tokenizer.ggml.tokens"]
    types = [int(x) for x in kv["tokenizer.ggml.token_type"]]
    pre = kv.get("tokenizer.ggml.pre", "llama-bpe")
    vocab, added = {}, []
    for i, (t, ty) in enumerate(zip(toks, types)):
        if ty in (3, 4):
            added.append({"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": ty == 4, "special": ty == 3})
        else:
            vocab[t] = i
    merges = list(kv.get("tokenizer.ggml.merges", []))
    if pairs:
        merges = [m.split(" ") for m in merges]
    if pre == "gpt2":
        pt = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    else:
        pt = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    bos = kv.get("tokenizer.ggml.bos_token_id")
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
          "pre_tokenizer": pt,
          "post_processor": {"type": "TemplateProcessing",
                             "single": ([{"SpecialToken": {"id": toks[bos], "type_id": 0}}] if bos is not None else [])
                             + [{"Sequence": {"id": "A", "type_id": 0}}]},
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                    "ignore_merges": True, "vocab": vocab, "merges": merges}}
    json.dump(tj, open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    tc = {"add_bos_token": bool(kv.get("tokenizer.ggml.add_bos_token", True)),
          "add_eos_token": bool(kv.get("tokenizer.ggml.add_eos_token", False)),
          "bos_token": toks[bos] if bos is not None else None,
          "eos_token": toks[kv["tokenizer.ggml.eos_token_id"]] if "tokenizer.ggml.eos_token_id" in kv else None,
          "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
          "tokenizer_class": "PreTrainedTokenizerFast"}
    json.dump(tc, open(os.path.join(d, "tokenizer_config.json"), "w"))


# ---- gguf2hf ------------------------------------------------------------------

LIN = [("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"), ("attn_v", "self_attn.v_proj"),
       ("attn_output", "self_attn.o_proj"), ("ffn_gate", "mlp.gate_proj"), ("ffn_up", "mlp.up_proj"),
       ("ffn_down", "mlp.down_proj")]


def config(kv, layout, tied):
    A = kv["general.architecture"]
    g = lambda k, d=None: kv.get(f"{A}.{k}", d)
    n_head = g("attention.head_count")
    cls = {"2b4t": "BitNetForCausalLM", "2b4t-bf16": "BitNetForCausalLM", "1bitllm": "BitnetForCausalLM",
           "llama": "LlamaForCausalLM"}[layout]
    act = "relu2" if layout.startswith("2b4t") else "silu"
    c = {"architectures": [cls], "model_type": "llama" if layout == "llama" else "bitnet",
         "hidden_size": g("embedding_length"), "intermediate_size": g("feed_forward_length"),
         "num_hidden_layers": g("block_count"), "num_attention_heads": n_head,
         "num_key_value_heads": g("attention.head_count_kv", n_head), "vocab_size": len(kv["tokenizer.ggml.tokens"]),
         "max_position_embeddings": g("context_length"), "rms_norm_eps": float(np.float32(g("attention.layer_norm_rms_epsilon", 1e-5))),
         "rope_theta": float(np.float32(g("rope.freq_base", 10000.0))), "hidden_act": act,
         "tie_word_embeddings": tied, "torch_dtype": "bfloat16",
         "bos_token_id": kv.get("tokenizer.ggml.bos_token_id"), "eos_token_id": kv.get("tokenizer.ggml.eos_token_id")}
    if layout == "llama":
        c["quantization_config"] = {"quant_method": "bitnet", "modules_to_not_convert": None}
    if layout == "2b4t":
        c["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                    "quantization_mode": "offline"}
    return c


def gguf2hf(a):
    g = Gguf(a.src)
    kv = g.kv
    A = kv["general.architecture"]
    n_layer = kv[f"{A}.block_count"]
    n_head, n_kv = kv[f"{A}.attention.head_count"], kv[f"{A}.attention.head_count_kv"]
    L = a.layout
    tied = "output.weight" not in g.t
    T = [("model.embed_tokens.weight", g.tensor("token_embd.weight").astype("<f2"))]
    sub = {"2b4t": ("self_attn.attn_sub_norm", "mlp.ffn_sub_norm"),
           "1bitllm": ("self_attn.inner_attn_ln", "mlp.ffn_layernorm")}.get(L)
    for i in range(n_layer):
        p = f"model.layers.{i}."
        T.append((p + "input_layernorm.weight", g.tensor(f"blk.{i}.attn_norm.weight").astype("<f4")))
        T.append((p + "post_attention_layernorm.weight", g.tensor(f"blk.{i}.ffn_norm.weight").astype("<f4")))
        if sub:
            T.append((p + sub[0] + ".weight", g.tensor(f"blk.{i}.attn_sub_norm.weight").astype("<f4")))
            T.append((p + sub[1] + ".weight", g.tensor(f"blk.{i}.ffn_sub_norm.weight").astype("<f4")))
        for gn, hn in LIN:
            codes, s = g.tensor(f"blk.{i}.{gn}.weight")
            if L == "llama" and gn in ("attn_q", "attn_k"):
                codes = hf_rope_order(codes, n_head if gn == "attn_q" else n_kv)
            if L == "1bitllm":
                T.append((p + hn + ".weight", (codes.astype(np.float32) * s).astype("<f4")))
            else:
                T.append((p + hn + ".weight", pack(codes)))
                ws = np.float32(1.0) / s if L == "llama" else s
                T.append((p + hn + ".weight_scale", np.array([ws], "<f4")))
    T.append(("model.norm.weight", g.tensor("output_norm.weight").astype("<f4")))
    if not tied:
        T.append(("lm_head.weight", g.tensor("output.weight").astype("<f2")))
    write_model(a.dir, T, a.shards)
    json.dump(config(kv, L, tied), open(os.path.join(a.dir, "config.json"), "w"), indent=1)
    json.dump({"bos_token_id": kv.get("tokenizer.ggml.bos_token_id"),
               "eos_token_id": kv.get("tokenizer.ggml.eos_token_id")},
              open(os.path.join(a.dir, "generation_config.json"), "w"))
    write_tokenizer_json(a.dir, kv, a.merges == "pairs")


# ---- master weights -------------------------------------------------------------

def absmean(w):
    """transformers' WeightQuant / llama.cpp's weight_quant: s = mean|w| (>= 1e-5),
    codes = clamp(round(w / s)) with round half to even; s summed in float64."""
    w = w.astype(np.float32)
    s = np.float32(max(np.abs(w.astype(np.float64)).sum() / w.size, 1e-5))
    c = np.clip(np.rint(w * (np.float32(1.0) / s)), -1, 1).astype(np.int8)
    return c, s


def master(a):
    rng = np.random.default_rng(a.seed)
    # --odd: rows that are no multiple of 256, like bitnet_b1_58-3B's 3200 and 8640 (MHA)
    E, F, NL, H, KV, V = (320, 864, 2, 4, 4, a.vocab) if a.odd else (256, 512, 2, 4, 2, a.vocab)
    hd = E // H
    L = a.layout
    bf = L == "2b4t-bf16"
    fl = lambda x: ("bf16", bf16(x)) if bf else x.astype("<f2")
    # the converter sees what the file holds: round master weights to the file dtype first
    held = lambda x: (bf16(x).astype(np.uint32) << 16).view(np.float32) if bf else x.astype("<f2").astype(np.float32)
    Tf, Tp = [], []
    emb = rng.uniform(-0.04, 0.04, (V, E)).astype(np.float32)
    for T in (Tf, Tp):
        T.append(("model.embed_tokens.weight", emb.astype("<f2")))
    sub = ("self_attn.attn_sub_norm", "mlp.ffn_sub_norm") if bf else ("self_attn.inner_attn_ln", "mlp.ffn_layernorm")
    shapes = {"attn_q": (H * hd, E), "attn_k": (KV * hd, E), "attn_v": (KV * hd, E), "attn_output": (E, H * hd),
              "ffn_gate": (F, E), "ffn_up": (F, E), "ffn_down": (E, F)}
    for i in range(NL):
        p = f"model.layers.{i}."
        for n, d in (("input_layernorm", E), ("post_attention_layernorm", E), (sub[0], H * hd), (sub[1], F)):
            v = rng.uniform(0.5, 1.5, d).astype("<f4")
            Tf.append((p + n + ".weight", v))
            Tp.append((p + n + ".weight", v))
        for gn, hn in LIN:
            w = held(rng.normal(0, 0.02, shapes[gn]).astype(np.float32))
            Tf.append((p + hn + ".weight", fl(w)))
            c, s = absmean(w)
            Tp.append((p + hn + ".weight", pack(c)))
            Tp.append((p + hn + ".weight_scale", np.array([s], "<f4")))
    nrm = rng.uniform(0.5, 1.5, E).astype("<f4")
    head = rng.uniform(-0.04, 0.04, (V, E)).astype("<f2")
    for T in (Tf, Tp):
        T.append(("model.norm.weight", nrm))
        T.append(("lm_head.weight", head))
    kv = {"general.architecture": "x", "x.embedding_length": E, "x.feed_forward_length": F, "x.block_count": NL,
          "x.attention.head_count": H, "x.attention.head_count_kv": KV, "x.context_length": 128,
          "x.attention.layer_norm_rms_epsilon": 1e-5, "x.rope.freq_base": 10000.0,
          "tokenizer.ggml.tokens": [f"t{i}" for i in range(V)], "tokenizer.ggml.bos_token_id": 1,
          "tokenizer.ggml.eos_token_id": 2}
    for d, T, lay in ((a.dir, Tf, L), (a.packed, Tp, "2b4t")):
        write_model(d, T, a.shards)
        c = config(kv, L if d == a.dir else "2b4t", False)
        c["hidden_act"] = "relu2" if bf else "silu"
        if d != a.dir:
            c.pop("quantization_config")
        json.dump(c, open(os.path.join(d, "config.json"), "w"), indent=1)
        if a.spm:
            import shutil
            shutil.copy(a.spm, os.path.join(d, "tokenizer.model"))
        else:
            write_bytes_vocab(d, V)


def torch2hf(a):
    """tools/train's latent f32 weights (models/default-weights.pt) as a BitNetForCausalLM
    master-weight checkpoint (the -bf16 layout, in F32), the tokenizer from the GGUF."""
    import torch
    ck = torch.load(a.weights, map_location="cpu", weights_only=False)
    cfg, sd = ck["cfg"], ck["model"]
    f32 = lambda t: np.ascontiguousarray(t.detach().float().numpy(), dtype="<f4")
    T = [("model.embed_tokens.weight", f32(sd["token_embd"]))]
    groups = {"qkv": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
              "attn_output": ["self_attn.o_proj"], "gate_up": ["mlp.gate_proj", "mlp.up_proj"],
              "ffn_down": ["mlp.down_proj"]}
    norms = {"attn_norm": "input_layernorm", "attn_sub_norm": "self_attn.attn_sub_norm",
             "ffn_norm": "post_attention_layernorm", "ffn_sub_norm": "mlp.ffn_sub_norm"}
    for i in range(cfg["n_layer"]):
        p, q = f"blocks.{i}.", f"model.layers.{i}."
        for n, hn in norms.items():
            T.append((q + hn + ".weight", f32(sd[p + n + ".weight"])))
        for g, names in groups.items():
            for j, hn in enumerate(names):
                T.append((q + hn + ".weight", f32(sd[f"{p}{g}.weights.{j}"])))
    T.append(("model.norm.weight", f32(sd["output_norm.weight"])))
    write_model(a.dir, T, 1)
    kv = Gguf(a.gguf).kv
    c = config(kv, "2b4t-bf16", True)
    c["torch_dtype"] = "float32"
    json.dump(c, open(os.path.join(a.dir, "config.json"), "w"), indent=1)
    write_tokenizer_json(a.dir, kv, False)


def write_bytes_vocab(d, V):
    """A byte-level BPE of 256 byte tokens, merges among the first of them, specials at the end."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    toks = [chr(c) for c in cs]
    merges = []
    while len(toks) < V - 3:
        a, b = toks[len(merges) % 40], toks[(7 * len(merges) + 3) % 40]
        if a + b not in toks:
            merges.append(f"{a} {b}")
            toks.append(a + b)
        else:
            toks.append(f"x{len(toks)}")
    toks += ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    kv = {"tokenizer.ggml.tokens": toks, "tokenizer.ggml.token_type": [1] * (V - 3) + [3, 3, 3],
          "tokenizer.ggml.merges": merges, "tokenizer.ggml.bos_token_id": V - 3, "tokenizer.ggml.eos_token_id": V - 2}
    write_tokenizer_json(d, kv, False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    a1 = sp.add_parser("gguf2hf")
    a1.add_argument("src")
    a1.add_argument("dir")
    a1.add_argument("--layout", choices=["2b4t", "1bitllm", "llama"], required=True)
    a1.add_argument("--shards", type=int, default=1)
    a1.add_argument("--merges", choices=["strings", "pairs"], default="strings")
    a2 = sp.add_parser("master")
    a2.add_argument("dir")
    a2.add_argument("packed")
    a2.add_argument("--layout", choices=["2b4t-bf16", "1bitllm"], required=True)
    a2.add_argument("--shards", type=int, default=1)
    a2.add_argument("--seed", type=int, default=7)
    a2.add_argument("--odd", action="store_true", help="n_embd 320, n_ff 864 (3B-like row lengths)")
    a2.add_argument("--vocab", type=int, default=300, help="vocabulary size (that of --spm's model)")
    a2.add_argument("--spm", help="a tokenizer.model to ship instead of a byte-level tokenizer.json")
    a3 = sp.add_parser("torch2hf")
    a3.add_argument("weights")
    a3.add_argument("gguf", help="the GGUF whose vocabulary and hyper-parameters to use")
    a3.add_argument("dir")
    a = ap.parse_args()
    {"gguf2hf": gguf2hf, "master": master, "torch2hf": torch2hf}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
