"""Model -> GGUF (architecture bitnet-b1.58), and GGUF -> model for reference runs."""
from __future__ import annotations

import numpy as np
import torch

from . import gguf, quant
from .bpe import Tokenizer
from .model import BitNet, Config

ARCH = "bitnet-b1.58"
TERNARY_NAMES = {"qkv": ["attn_q", "attn_k", "attn_v"], "attn_output": ["attn_output"],
                 "gate_up": ["ffn_gate", "ffn_up"], "ffn_down": ["ffn_down"]}


def write_gguf(model: BitNet, tok: Tokenizer, path: str, wtype: str = "i2_s",
               embd_type: str = "f16", name: str = "bitnet-b1.58-kjv", extra: dict | None = None,
               arch: str = ARCH, f16_scales: bool = False):
    """Writes the model. TQ2_0/TQ1_0 store each scale as f16; I2_S stores the f32
    scale the training forward pass used, or, with f16_scales, the same f16
    value as the TQ formats (then all three formats give identical logits).
    Per-channel scales (cfg.per_channel) need TQ2_0 or TQ1_0; the linears of
    the precision plan (cfg.plan) are written as Q8_0 / Q4_0 / F16."""
    cfg = model.cfg
    if tok.n_vocab != cfg.n_vocab:
        raise ValueError(f"tokenizer has {tok.n_vocab} tokens, model {cfg.n_vocab}")
    if cfg.per_channel and wtype == "i2_s":
        raise ValueError("per-channel scales cannot be stored in I2_S (one scale per tensor): "
                         "export as tq2_0 or tq1_0")
    ttype, encode, file_type = gguf.TERNARY[wtype]
    w = gguf.Writer()
    A = arch
    w.add("general.architecture", gguf.GT_STRING, A)
    w.add("general.name", gguf.GT_STRING, name)
    w.add("general.file_type", gguf.GT_UINT32, file_type)
    w.add("general.quantization_version", gguf.GT_UINT32, 2)
    for k, v in (extra or {}).items():
        if isinstance(v, int):
            w.add(k, gguf.GT_UINT32, v)
        else:
            w.add(k, gguf.GT_STRING, str(v))
    w.add(f"{A}.vocab_size", gguf.GT_UINT32, cfg.n_vocab)
    w.add(f"{A}.context_length", gguf.GT_UINT32, cfg.n_ctx)
    w.add(f"{A}.embedding_length", gguf.GT_UINT32, cfg.n_embd)
    w.add(f"{A}.block_count", gguf.GT_UINT32, cfg.n_layer)
    w.add(f"{A}.feed_forward_length", gguf.GT_UINT32, cfg.n_ff)
    w.add(f"{A}.attention.head_count", gguf.GT_UINT32, cfg.n_head)
    w.add(f"{A}.attention.head_count_kv", gguf.GT_UINT32, cfg.n_head_kv)
    w.add(f"{A}.rope.freq_base", gguf.GT_FLOAT32, float(cfg.rope_theta))
    w.add(f"{A}.rope.dimension_count", gguf.GT_UINT32, cfg.head_dim)
    w.add(f"{A}.attention.layer_norm_rms_epsilon", gguf.GT_FLOAT32, float(cfg.rms_eps))
    w.add(f"{A}.hidden_activation", gguf.GT_STRING, "relu2")
    w.add("tokenizer.ggml.model", gguf.GT_STRING, "gpt2")
    w.add("tokenizer.ggml.pre", gguf.GT_STRING, tok.pre)
    w.add("tokenizer.ggml.tokens", gguf.GT_ARRAY, tok.tokens, gguf.GT_STRING)
    w.add("tokenizer.ggml.token_type", gguf.GT_ARRAY, tok.types, gguf.GT_INT32)
    w.add("tokenizer.ggml.merges", gguf.GT_ARRAY, tok.merges, gguf.GT_STRING)
    w.add("tokenizer.ggml.bos_token_id", gguf.GT_UINT32, tok.bos)
    w.add("tokenizer.ggml.eos_token_id", gguf.GT_UINT32, tok.eos)
    w.add("tokenizer.ggml.add_bos_token", gguf.GT_BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", gguf.GT_BOOL, False)

    def f32(t):
        return np.ascontiguousarray(t.detach().float().numpy(), dtype="<f4")

    E = f32(model.token_embd)
    if embd_type == "f16":
        w.add_tensor("token_embd.weight", [cfg.n_embd, cfg.n_vocab], gguf.T_F16,
                     E.astype("<f2").tobytes())
    else:
        w.add_tensor("token_embd.weight", [cfg.n_embd, cfg.n_vocab], gguf.T_F32, E.tobytes())
    for i, blk in enumerate(model.blocks):
        p = f"blk.{i}."

        def norm(n, mod):
            w.add_tensor(p + n + ".weight", [mod.weight.numel()], gguf.T_F32,
                         f32(mod.weight).tobytes())

        def ternary(attr):
            grp = getattr(blk, attr)
            if any(t == quant.TERNARY for t in grp.types):
                codes, svec = grp.ternary()
            row = 0
            for i, (n, o) in enumerate(zip(TERNARY_NAMES[attr], grp.outs)):
                ne = [grp.weights[i].shape[1], o]
                if grp.types[i] == "f16":
                    w.add_tensor(p + n + ".weight", ne, gguf.T_F16,
                                 f32(grp.weights[i]).astype("<f2").tobytes())
                    continue
                if grp.types[i] != quant.TERNARY:
                    qf = quant.q8_0 if grp.types[i] == "q8_0" else quant.q4_0
                    q, d = qf(grp.weights[i])
                    enc, tt = ((gguf.encode_q8_0, gguf.T_Q8_0) if grp.types[i] == "q8_0"
                               else (gguf.encode_q4_0, gguf.T_Q4_0))
                    w.add_tensor(p + n + ".weight", ne, tt, enc(q.numpy(), d.numpy()))
                    continue
                c = codes[row:row + o].detach().to(torch.int8).numpy()
                if grp.per_channel:
                    s = svec[row:row + o].detach().float().numpy()
                else:
                    s = float(np.float32(svec[row].item()))
                    if f16_scales:
                        s = float(np.float16(s))
                row += o
                w.add_tensor(p + n + ".weight", ne, ttype, encode(c, s))

        norm("attn_norm", blk.attn_norm)
        ternary("qkv")
        norm("attn_sub_norm", blk.attn_sub_norm)
        ternary("attn_output")
        norm("ffn_norm", blk.ffn_norm)
        ternary("gate_up")
        norm("ffn_sub_norm", blk.ffn_sub_norm)
        ternary("ffn_down")
    w.add_tensor("output_norm.weight", [cfg.n_embd], gguf.T_F32, f32(model.output_norm.weight).tobytes())
    w.write(path)


def config_from_gguf(kv: dict, plan: str = "", per_channel: bool = False) -> Config:
    A = kv["general.architecture"]
    return Config(n_vocab=kv[f"{A}.vocab_size"], n_ctx=kv[f"{A}.context_length"],
                  n_embd=kv[f"{A}.embedding_length"], n_layer=kv[f"{A}.block_count"],
                  n_head=kv[f"{A}.attention.head_count"],
                  n_head_kv=kv[f"{A}.attention.head_count_kv"],
                  n_ff=kv[f"{A}.feed_forward_length"], rope_theta=kv[f"{A}.rope.freq_base"],
                  rms_eps=kv[f"{A}.attention.layer_norm_rms_epsilon"], per_channel=per_channel,
                  plan=plan)


def tokenizer_from_gguf(path: str) -> Tokenizer:
    """The BPE tokenizer stored in a GGUF file of ours."""
    kv = gguf.Reader(path).kv
    if kv.get("tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"{path}: not a byte-level BPE (gpt2) tokenizer")
    return Tokenizer(kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.merges"],
                     kv.get("tokenizer.ggml.pre", "llama-bpe"))


def _linear(r: gguf.Reader, name: str):
    """("ternary", codes, per-row scales) or (type, dequantised weights), in f64."""
    ne, tt, _ = r.tensors[name]
    if tt == gguf.T_I2_S:
        c, s = r.tensor(name)
        return (quant.TERNARY, torch.from_numpy(c.astype(np.float64)),
                torch.full((c.shape[0],), float(np.float32(s)), dtype=torch.float64))
    if tt == gguf.T_TQ2_0:
        c, d = r.tensor(name)
        rows = d.max(1)   # all-zero blocks store 0; the others the row's scale
        if ((d != 0) & (d != rows[:, None])).any():
            raise ValueError(f"{name}: block scales differ within a row (not one scale per row)")
        return (quant.TERNARY, torch.from_numpy(c.astype(np.float64)),
                torch.from_numpy(rows.astype(np.float64)))
    kept = {gguf.T_Q8_0: "q8_0", gguf.T_Q4_0: "q4_0", gguf.T_F16: "f16"}
    if tt in kept:
        return (kept[tt], torch.from_numpy(np.array(r.tensor(name), dtype=np.float64)))
    raise ValueError(f"{name}: type {gguf.TYPE_NAMES.get(tt, tt)} is not read here "
                     "(I2_S, TQ2_0, Q8_0, Q4_0, F16)")


def load_gguf(path: str, dtype=torch.float64) -> tuple[BitNet, dict]:
    """The model of a file of ours (I2_S or TQ2_0 ternary linears, per tensor
    or per row, and Q8_0 / Q4_0 / F16 linears, each layer with its own), with
    the weights frozen exactly as stored, in `dtype`, ready for BitNet.forward
    (eval mode). cfg.plan names layer 0's types."""
    r = gguf.Reader(path)
    kv = r.kv
    lin = {}
    plan, per_channel = [], False
    for i in range(kv[f"{kv['general.architecture']}.block_count"]):
        for names in TERNARY_NAMES.values():
            for n in names:
                e = lin[f"blk.{i}.{n}"] = _linear(r, f"blk.{i}.{n}.weight")
                if e[0] != quant.TERNARY and i == 0:
                    plan.append(f"{n}={e[0]}")
                if e[0] == quant.TERNARY:
                    per_channel |= bool((e[2] != e[2][0]).any())
    cfg = config_from_gguf(kv, ",".join(plan), per_channel)
    m = BitNet(cfg)

    def t(name):
        return torch.from_numpy(np.array(r.tensor(name), dtype=np.float32))

    with torch.no_grad():
        m.token_embd.copy_(t("token_embd.weight"))
        m.output_norm.weight.copy_(t("output_norm.weight"))
        for i, blk in enumerate(m.blocks):
            p = f"blk.{i}."
            for n in ("attn_norm", "attn_sub_norm", "ffn_norm", "ffn_sub_norm"):
                getattr(blk, n).weight.copy_(t(p + n + ".weight"))
            for attr, names in TERNARY_NAMES.items():
                grp = getattr(blk, attr)
                fr = [lin[p + n] for n in names]
                grp.types = [e[0] for e in fr]   # layers may differ (cfg.plan: layer 0's)
                grp.frozen = [tuple(x.to(dtype) if torch.is_tensor(x) else x for x in e)
                              for e in fr]
    m = m.to(dtype)
    m.eval()
    return m, kv


def latent_from_gguf(path: str, cfg: Config) -> dict:
    """A state dict of latent weights that reproduces the file's model under
    cfg's quantisation: float tensors as stored; a ternary weight that stays
    ternary as codes * s / f, f the fraction of non-zero codes (per tensor or
    per row, as cfg.per_channel), so that absmean gives back s and rounding
    gives back the codes; a weight that becomes Q8_0 / Q4_0 / F16 as the values the
    file computes with (codes * s, or the dequantised blocks)."""
    m, _ = load_gguf(path, torch.float32)
    sd = {name: p.detach().clone() for name, p in m.named_parameters()}
    for i, blk in enumerate(m.blocks):
        for attr, names in TERNARY_NAMES.items():
            for j, e in enumerate(getattr(blk, attr).frozen):
                if e[0] != quant.TERNARY:
                    w = e[1]
                else:
                    c, s = e[1], e[2][:, None]
                    w = c * s
                    if cfg.kind_type(names[j]) == quant.TERNARY:
                        nz = c.ne(0).float()
                        w = w / (nz.mean(1, keepdim=True) if cfg.per_channel
                                 else nz.mean()).clamp(min=1e-6)
                sd[f"blocks.{i}.{attr}.weights.{j}"] = w.float()
    return sd


def latent_from_checkpoint(model: BitNet, cfg: Config) -> dict:
    """A state dict for cfg from a trained model: the latent weights, except that
    a linear that becomes Q8_0 / Q4_0 / F16 starts from the ternary weights the model
    was trained to compute with (codes * s), so the starting model is the
    trained one."""
    sd = {name: p.detach().clone() for name, p in model.named_parameters()}
    for i, blk in enumerate(model.blocks):
        for attr, names in TERNARY_NAMES.items():
            grp = getattr(blk, attr)
            if not any(cfg.kind_type(n) != quant.TERNARY for n in names):
                continue
            codes, svec = _quant_all(grp)
            row = 0
            for j, (n, o) in enumerate(zip(names, grp.outs)):
                if cfg.kind_type(n) != quant.TERNARY and grp.types[j] == quant.TERNARY:
                    sd[f"blocks.{i}.{attr}.weights.{j}"] = (codes[row:row + o]
                                                            * svec[row:row + o, None]).float()
                row += o
    return sd


def _quant_all(grp):
    from .model import _quant_segments
    with torch.no_grad():
        return _quant_segments(torch.cat(list(grp.weights), 0), grp.outs, grp.per_channel)
