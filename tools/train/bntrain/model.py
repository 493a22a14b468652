"""BitNet b1.58 in PyTorch, as the 2B4T architecture computes it.

Block (FORMATS.md "The block"):
    n = rmsnorm(x) * attn_norm
    q, k, v = Wq n, Wk n, Wv n                       ternary (BitLinear)
    a = softmax(rope(q) rope(k)^T / sqrt(d) + causal) v    (GQA)
    h = x + Wo (rmsnorm(a) * attn_sub_norm)
    m = rmsnorm(h) * ffn_norm
    y = h + Wdown (rmsnorm(relu(Wgate m)^2 * Wup m) * ffn_sub_norm)
    logits = token_embd (rmsnorm(y) * output_norm)    tied head, full precision

BitLinear (the b1.58 recipe): the latent weights W stay full precision; the
forward pass uses ternary weights round(W / s) clipped to [-1, 1] times
s = mean|W| (per tensor), and int8 activations round(x * g) clipped to
[-128, 127] divided by g = 127 / max|x| (per token). The backward pass treats
both roundings as the identity (straight-through estimator).
torch.round rounds half to even, as libbitnet does.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import quant


@dataclasses.dataclass
class Config:
    n_vocab: int = 4096
    n_ctx: int = 256
    n_embd: int = 256
    n_layer: int = 6
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 768
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    per_channel: bool = False   # ternary scales per output row instead of per tensor
    plan: str = ""              # block-quantised linears: "attn_output=q8_0,ffn_down=q4_0"

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def check(self):
        if self.n_embd % self.n_head or self.n_head % self.n_head_kv or self.head_dim % 2:
            raise ValueError("n_embd must be a multiple of n_head, n_head of n_head_kv, "
                             "and the head dimension even")
        for what, k in (("n_embd", self.n_embd), ("n_ff", self.n_ff)):
            if k % 256:
                raise ValueError(f"{what} = {k}: must be a multiple of 256 (TQ1_0/TQ2_0 blocks)")
        quant.parse_plan(self.plan)

    def kind_type(self, kind: str) -> str:
        """'ternary', 'q8_0' or 'q4_0' for a linear kind (quant.LINEAR_KINDS)."""
        return quant.parse_plan(self.plan).get(kind, quant.TERNARY)


def weight_quant(w: torch.Tensor, per_channel: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(ternary codes in {-1, 0, 1} as w.dtype, scale s: per tensor, or per
    output row [rows, 1] with per_channel)."""
    s = (w.abs().mean(-1, keepdim=True) if per_channel else w.abs().mean()).clamp(min=1e-5)
    return (w / s).round().clamp(-1, 1), s


def act_quant(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 values as x.dtype, per-token gamma = 127 / max|x|)."""
    g = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * g).round().clamp(-128, 127), g


class _TernaryMatmul(torch.autograd.Function):
    """y = x~ W~^T for the straight-through estimator, with bf16 matmuls.

    x~ = round(x g)/g and W~ = codes * s: the forward product of int8 values
    and ternary codes is exact in bf16 inputs with f32 accumulation (AMX or
    AVX-512 BF16 through oneDNN: about ten times the f32 speed on our CPUs);
    only its result is rounded to bf16. The backward pass uses the same
    quantised operands: dx = dy W~, dW = dy^T x~ (the STE passes both
    gradients through the rounding unchanged)."""

    @staticmethod
    def forward(ctx, x2, w, outs, per_channel):
        with torch.no_grad():
            codes, svec = _quant_segments(w, outs, per_channel)
            xq, g = act_quant(x2)
            cb, xb = codes.bfloat16(), xq.bfloat16()
            y = (xb @ cb.t()).float() * svec / g
        ctx.save_for_backward(cb, xb, svec, g)
        return y

    @staticmethod
    def backward(ctx, dy):
        cb, xb, svec, g = ctx.saved_tensors
        dx = ((dy * svec).bfloat16() @ cb).float()
        dw = ((dy / g).bfloat16().t() @ xb).float()
        return dx, dw, None, None


class _Bf16Matmul(torch.autograd.Function):
    """y = x w^T with bf16 operands and f32 results, and the same in the backward
    pass: the training products of the Q8_0 / Q4_0 / F16 linears (their fake-quantised
    weights and float activations are not exact in bf16, as the attention
    products are not; evaluation computes them in f32 or f64)."""

    @staticmethod
    def forward(ctx, x2, w):
        xb, wb = x2.bfloat16(), w.bfloat16()
        ctx.save_for_backward(xb, wb)
        return (xb @ wb.t()).float()

    @staticmethod
    def backward(ctx, dy):
        xb, wb = ctx.saved_tensors
        db = dy.bfloat16()
        return (db @ wb).float(), (db.t() @ xb).float()


def _quant_segments(w: torch.Tensor, outs: list[int], per_channel: bool = False):
    """Ternary codes of the stacked weights, each segment (or row) with its own
    scale, and the per-output-row scale vector."""
    codes, scales = [], []
    for seg in w.split(outs, 0):
        c, s = weight_quant(seg, per_channel)
        codes.append(c)
        scales.append(s.reshape(-1).expand(seg.shape[0]))
    return torch.cat(codes, 0), torch.cat(scales, 0)


class BitLinearGroup(nn.Module):
    """Several linear layers reading the same input (q/k/v, or gate/up).

    Each weight has its own scale (or, with per_channel, one per output row),
    as in the GGUF file; the input is quantised once (the per-token
    quantisation of one input is the same for all of them) and one matmul
    computes all ternary outputs. A weight whose type (`types`, from the
    precision plan) is q8_0, q4_0 or f16 is fake-quantised to that type instead
    (straight-through estimator) and reads the activations as floats, as
    libbitnet's kernels of those types do (Q4_0 rounds them to int8 per block
    of 32).

    Two ways to compute the same function:
      - training (module.training and fast=True): bf16 matmuls, see _TernaryMatmul;
      - exact (evaluation): y = (x_q . c) * s / g in the parameters' dtype
        (f32 or f64), the integer sums exact, as libbitnet computes it.
    `frozen` holds per weight ("ternary", codes, per-row scales) or (type,
    dequantised weight) loaded from a GGUF file instead of latent weights, so a
    file's model runs through this same code."""

    def __init__(self, n_in: int, outs: list[int], types: list[str] | None = None,
                 per_channel: bool = False):
        super().__init__()
        self.outs = outs
        self.types = list(types or [quant.TERNARY] * len(outs))
        self.per_channel = per_channel
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.empty(o, n_in)) for o in outs])
        for w in self.weights:
            nn.init.normal_(w, std=0.02)
        self.frozen = None
        self.fast = True

    def _tern(self) -> list[int]:
        return [i for i, t in enumerate(self.types) if t == quant.TERNARY]

    def ternary(self):
        """(codes, per-row scale vector) of the ternary weights, stacked, as the
        forward pass uses them."""
        idx = self._tern()
        if self.frozen is not None:
            return (torch.cat([self.frozen[i][1] for i in idx]),
                    torch.cat([self.frozen[i][2] for i in idx]))
        return _quant_segments(torch.cat([self.weights[i] for i in idx], 0),
                               [self.outs[i] for i in idx], self.per_channel)

    def block_weight(self, i: int) -> torch.Tensor:
        """The dequantised weight of block-quantised weight i (no gradient)."""
        if self.frozen is not None:
            return self.frozen[i][1]
        return quant.dequant(self.types[i], self.weights[i]).to(self.weights[i].dtype)

    def _ternary_forward(self, x2: torch.Tensor) -> torch.Tensor:
        idx = self._tern()
        if self.training and self.fast and self.frozen is None:
            w = torch.cat([self.weights[i] for i in idx], 0)
            return _TernaryMatmul.apply(x2, w, [self.outs[i] for i in idx], self.per_channel)
        if torch.is_grad_enabled() and self.frozen is None:  # STE in the parameters' dtype
            codes, svec = self.ternary()
            w = torch.cat([self.weights[i] for i in idx], 0)
            ws = w + (codes * svec[:, None] - w).detach()
            xq, g = act_quant(x2)
            return (x2 + (xq / g - x2).detach()) @ ws.t()
        codes, svec = self.ternary()
        xq, g = act_quant(x2)
        return (xq @ codes.to(x2.dtype).t()) * svec.to(x2.dtype) / g

    def _block_forward(self, i: int, x2: torch.Tensor) -> torch.Tensor:
        wq = self.block_weight(i).to(x2.dtype)
        if self.frozen is None and torch.is_grad_enabled():
            w = self.weights[i]
            wq = w + (wq - w).detach()
        if self.types[i] == "q4_0":
            x2 = x2 + (quant.q4_act(x2.detach()) - x2).detach()
        if self.training and self.fast and self.frozen is None:
            return _Bf16Matmul.apply(x2, wq)
        return x2 @ wq.t()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        shape = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        if all(t == quant.TERNARY for t in self.types):
            y = self._ternary_forward(x2)
            return list(y.reshape(*shape, -1).split(self.outs, dim=-1))
        ys = [None] * len(self.outs)
        idx = self._tern()
        if idx:
            yt = self._ternary_forward(x2).split([self.outs[i] for i in idx], dim=-1)
            for i, y in zip(idx, yt):
                ys[i] = y
        for i, t in enumerate(self.types):
            if t != quant.TERNARY:
                ys[i] = self._block_forward(i, x2)
        return [y.reshape(*shape, -1) for y in ys]


class RMSNorm(nn.Module):
    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cache(cfg: Config, n: int, device=None, dtype=torch.float32):
    """cos, sin of shape [n, head_dim/2]: angle pos * theta^(-2i/d), in double."""
    d = cfg.head_dim
    i = torch.arange(d // 2, dtype=torch.float64)
    inv = cfg.rope_theta ** (-2.0 * i / d)
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
    return ang.cos().to(dtype), ang.sin().to(dtype)


def rope_neox(x, cos, sin):
    """x [B, H, T, d]: rotates the pairs (i, i + d/2)."""
    h = x.shape[-1] // 2
    a, b = x[..., :h], x[..., h:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        kv = cfg.head_dim * cfg.n_head_kv
        self.attn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        t, pc = cfg.kind_type, cfg.per_channel
        self.qkv = BitLinearGroup(cfg.n_embd, [cfg.n_embd, kv, kv],
                                  [t("attn_q"), t("attn_k"), t("attn_v")], pc)
        self.attn_sub_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.attn_output = BitLinearGroup(cfg.n_embd, [cfg.n_embd], [t("attn_output")], pc)
        self.ffn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.gate_up = BitLinearGroup(cfg.n_embd, [cfg.n_ff, cfg.n_ff],
                                      [t("ffn_gate"), t("ffn_up")], pc)
        self.ffn_sub_norm = RMSNorm(cfg.n_ff, cfg.rms_eps)
        self.ffn_down = BitLinearGroup(cfg.n_ff, [cfg.n_embd], [t("ffn_down")], pc)

    def forward(self, x, cos, sin, mask):
        cfg = self.cfg
        B, T, _ = x.shape
        q, k, v = self.qkv(self.attn_norm(x))
        q = q.view(B, T, cfg.n_head, cfg.head_dim).transpose(1, 2)
        k = k.view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        v = v.view(B, T, cfg.n_head_kv, cfg.head_dim).transpose(1, 2)
        q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        rep = cfg.n_head // cfg.n_head_kv
        if rep > 1:  # q head h reads kv head h // rep
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if self.training and self.qkv.fast:  # bf16 products, f32 softmax
            att = (q.bfloat16() @ k.bfloat16().transpose(-2, -1)).float()
            att = (att * (1.0 / math.sqrt(cfg.head_dim)) + mask).softmax(-1)
            a = (att.bfloat16() @ v.bfloat16()).float()
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(cfg.head_dim)) + mask
            a = att.softmax(-1) @ v
        a = a.transpose(1, 2).reshape(B, T, cfg.n_embd)
        h = x + self.attn_output(self.attn_sub_norm(a))[0]
        g, u = self.gate_up(self.ffn_norm(h))
        return h + self.ffn_down(self.ffn_sub_norm(F.relu(g).square() * u))[0]


class BitNet(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.token_embd = nn.Parameter(torch.empty(cfg.n_vocab, cfg.n_embd))
        nn.init.normal_(self.token_embd, std=0.02)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.output_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        dt = self.token_embd.dtype
        cos, sin = rope_cache(self.cfg, T, dtype=dt)
        mask = torch.full((T, T), float("-inf"), dtype=dt).triu(1)
        x = F.embedding(idx, self.token_embd)
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        h = self.output_norm(x)
        if self.training and self.fast:
            return (h.bfloat16() @ self.token_embd.bfloat16().t()).float()
        return F.linear(h, self.token_embd)

    @property
    def fast(self) -> bool:
        return self.blocks[0].qkv.fast

    def set_fast(self, on: bool):
        """bf16 matmuls in training mode (default), or the parameters' dtype throughout."""
        for m in self.modules():
            if isinstance(m, BitLinearGroup):
                m.fast = on

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def decay_groups(self, weight_decay: float):
        """AdamW groups: weight decay on the matrices (and the embedding), not the norms."""
        decay = [p for n, p in self.named_parameters() if p.dim() >= 2]
        other = [p for n, p in self.named_parameters() if p.dim() < 2]
        return [{"params": decay, "weight_decay": weight_decay},
                {"params": other, "weight_decay": 0.0}]
