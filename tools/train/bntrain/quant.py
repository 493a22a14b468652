"""Linear weights kept at more bits (Q8_0, Q4_0 blocks, F16) and precision plans.

The quantisers reproduce libbitnet's bn_q8_from_f32_ref / bn_q4_from_f32_ref
(the same as llama.cpp's quantize_row_q8_0_ref / quantize_row_q4_0_ref) bit
for bit, in f32:
  Q8_0: blocks of 32, d = max|w| / 127, id = 1/d, q = round half away from
        zero of w * id (trunc, then +-1 where the fraction reaches 1/2);
  Q4_0: blocks of 32, d = m / -8 where m is the first value of largest
        magnitude, id = 1/d, q = min(15, trunc(w * id + 8.5)), value (q - 8) d.
d is stored as f16; the dequantised weight is q * f16(d).
The library's Q4_0 product rounds the activations to int8 per block of 32
(dx = max|x| / 127, round half to even; bn_q4_x_block); `q4_act` does the same.
F16: the weight rounded to f16 (round to nearest even); the library's F16
product reads the activations as floats.
"""
from __future__ import annotations

import torch

# the linear kinds of a block, in GGUF tensor names, as bitnet-mkmodel --plan names them
LINEAR_KINDS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
TERNARY = "ternary"
BLOCK_TYPES = ("q8_0", "q4_0")
PLAN_TYPES = BLOCK_TYPES + ("f16",)   # what a plan may keep a linear kind at


def parse_plan(plan: str) -> dict[str, str]:
    """'attn_output=q8_0,ffn_down=q4_0' -> {kind: type}; ternary for the rest."""
    out = {}
    for item in filter(None, (plan or "").split(",")):
        kind, eq, typ = item.partition("=")
        if not eq:
            raise ValueError(f"plan: '{item}' is not KIND=TYPE")
        if kind not in LINEAR_KINDS:
            raise ValueError(f"plan: unknown kind '{kind}' ({', '.join(LINEAR_KINDS)})")
        if typ not in PLAN_TYPES + (TERNARY,):
            raise ValueError(f"plan: unknown type '{typ}' (q8_0, q4_0, f16, ternary)")
        if typ != TERNARY:
            out[kind] = typ
    return out


def canonical_plan(plan: str) -> str:
    p = parse_plan(plan)
    return ",".join(f"{k}={p[k]}" for k in LINEAR_KINDS if k in p)


def _blocks(w: torch.Tensor) -> torch.Tensor:
    if w.shape[-1] % 32:
        raise ValueError(f"row length {w.shape[-1]} is not a multiple of 32 (Q8_0/Q4_0 blocks)")
    return w.detach().float().reshape(-1, 32)


def _inv(d: torch.Tensor) -> torch.Tensor:
    return torch.where(d != 0, 1.0 / torch.where(d != 0, d, torch.ones_like(d)),
                       torch.zeros_like(d))


def q8_0(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int codes in [-127, 127] as f32 [n_blocks, 32], f16 scale d [n_blocks])."""
    b = _blocks(w)
    d = b.abs().amax(1) / 127.0
    v = b * _inv(d)[:, None]
    t = v.trunc()
    f = v - t
    q = t + (f >= 0.5).float() - (f <= -0.5).float()
    return q, d.half()


def q4_0(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes in [0, 15] as f32 [n_blocks, 32], f16 scale d [n_blocks]); value (q - 8) d."""
    b = _blocks(w)
    m = b.gather(1, b.abs().argmax(1, keepdim=True))[:, 0]
    d = m / -8.0
    v = b * _inv(d)[:, None] + 8.5
    return v.trunc().clamp(max=15.0), d.half()


def dequant(typ: str, w: torch.Tensor) -> torch.Tensor:
    """The weights as the file stores them (q8_0, q4_0, f16), in f32, shaped like w."""
    if typ == "q8_0":
        q, d = q8_0(w)
        return (q * d.float()[:, None]).reshape(w.shape)
    if typ == "q4_0":
        q, d = q4_0(w)
        return ((q - 8.0) * d.float()[:, None]).reshape(w.shape)
    if typ == "f16":
        return w.detach().half().float()
    raise ValueError(f"not a plan type: {typ}")


def q4_act(x: torch.Tensor) -> torch.Tensor:
    """x rounded to int8 per block of 32 with the block's own scale, as the
    library's Q4_0 product does (in x's dtype; no gradient through the rounding)."""
    b = x.reshape(*x.shape[:-1], -1, 32)
    dx = b.abs().amax(-1, keepdim=True) / 127.0
    q = (b * _inv(dx)).round()
    return (q * dx).reshape(x.shape)
