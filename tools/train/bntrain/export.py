"""Model -> GGUF (architecture bitnet-b1.58), and GGUF -> model for reference runs."""
from __future__ import annotations

import numpy as np
import torch

from . import gguf
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
    value as the TQ formats (then all three formats give identical logits)."""
    cfg = model.cfg
    if tok.n_vocab != cfg.n_vocab:
        raise ValueError(f"tokenizer has {tok.n_vocab} tokens, model {cfg.n_vocab}")
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
            codes, svec = grp.ternary()
            row = 0
            for n, o in zip(TERNARY_NAMES[attr], grp.outs):
                c = codes[row:row + o].detach().to(torch.int8).numpy()
                s = float(np.float32(svec[row].item()))
                if f16_scales:
                    s = float(np.float16(s))
                row += o
                w.add_tensor(p + n + ".weight", [c.shape[1], c.shape[0]], ttype, encode(c, s))

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


def load_gguf(path: str, dtype=torch.float64) -> tuple[BitNet, dict]:
    """The model of an I2_S file of ours, with frozen ternary codes and scales
    exactly as stored, in `dtype`, ready for BitNet.forward (eval mode)."""
    r = gguf.Reader(path)
    kv = r.kv
    A = kv["general.architecture"]
    cfg = Config(n_vocab=kv[f"{A}.vocab_size"], n_ctx=kv[f"{A}.context_length"],
                 n_embd=kv[f"{A}.embedding_length"], n_layer=kv[f"{A}.block_count"],
                 n_head=kv[f"{A}.attention.head_count"],
                 n_head_kv=kv[f"{A}.attention.head_count_kv"], n_ff=kv[f"{A}.feed_forward_length"],
                 rope_theta=kv[f"{A}.rope.freq_base"],
                 rms_eps=kv[f"{A}.attention.layer_norm_rms_epsilon"])
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
                codes, svec = [], []
                for n in names:
                    c, s = r.tensor(p + n + ".weight")
                    codes.append(torch.from_numpy(c.astype(np.float64)))
                    svec.append(torch.full((c.shape[0],), float(np.float32(s)), dtype=torch.float64))
                getattr(blk, attr).frozen = (torch.cat(codes).to(dtype), torch.cat(svec).to(dtype))
    m = m.to(dtype)
    m.eval()
    return m, kv
