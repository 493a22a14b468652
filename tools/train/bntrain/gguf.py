"""GGUF v3 writer and reader, with the ternary encodings libbitnet loads.

Layouts (FORMATS.md, "Tensor types that matter"):
  I2_S  (36, bitnet.cpp) flat array of n weights in blocks of 128 = 32 bytes;
        byte k of block i: weight 128i+k in bits 7:6, +32 in 5:4, +64 in 3:2,
        +96 in 1:0; code -1 -> 0b00, 0 -> 0b01, +1 -> 0b10; then one f32
        per-tensor scale at byte n/4, padded to n/4 + 32 bytes.
        Needs general.file_type = 40.
  TQ2_0 (35) blocks of 256 weights in 66 bytes: qs[64] (per 32-byte chunk of
        128 weights: byte m holds m in bits 1:0, m+32 in 3:2, m+64 in 5:4,
        m+96 in 7:6; code = w + 1), f16 d.
  TQ1_0 (34) blocks of 256 weights in 54 bytes: qs[48], qh[4], f16 d; five
        (four plus a zero) base-3 trits per byte, stored as ceil(q*256/243).
TQ blocks carry an f16 scale: the per-tensor scale rounded to f16 (0 for an
all-zero block), so TQ files differ from I2_S by that rounding only. With
per-channel scales every block carries its row's scale (rows are whole
blocks: K is a multiple of 256); I2_S has one scale per tensor and cannot.
  Q8_0  (8)  blocks of 32 in 34 bytes: f16 d, int8 qs[32].
  Q4_0  (2)  blocks of 32 in 18 bytes: f16 d, qs[16]: byte j holds code j in
        bits 3:0 and code j+16 in bits 7:4 (bntrain/quant.py quantises).
"""
from __future__ import annotations

import io
import struct

import numpy as np

GT_UINT8, GT_INT8, GT_UINT16, GT_INT16, GT_UINT32, GT_INT32, GT_FLOAT32 = 0, 1, 2, 3, 4, 5, 6
GT_BOOL, GT_STRING, GT_ARRAY, GT_UINT64, GT_INT64, GT_FLOAT64 = 7, 8, 9, 10, 11, 12
_FMT = {GT_UINT8: "<B", GT_INT8: "<b", GT_UINT16: "<H", GT_INT16: "<h", GT_UINT32: "<I",
        GT_INT32: "<i", GT_FLOAT32: "<f", GT_BOOL: "<?", GT_UINT64: "<Q", GT_INT64: "<q",
        GT_FLOAT64: "<d"}

T_F32, T_F16, T_Q4_0, T_Q8_0, T_TQ1_0, T_TQ2_0, T_I2_S = 0, 1, 2, 8, 34, 35, 36
TYPE_NAMES = {T_F32: "F32", T_F16: "F16", T_Q4_0: "Q4_0", T_Q8_0: "Q8_0", T_TQ1_0: "TQ1_0",
              T_TQ2_0: "TQ2_0", T_I2_S: "I2_S"}
ALIGN = 32


def _str(s) -> bytes:
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _pad(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class Writer:
    def __init__(self):
        self.kv: list[tuple[str, int, object, int | None]] = []
        self.tensors: list[tuple[str, list[int], int, bytes]] = []

    def add(self, key: str, gtype: int, value, elem_type: int | None = None):
        self.kv.append((key, gtype, value, elem_type))

    def add_tensor(self, name: str, ne: list[int], ttype: int, data: bytes):
        """ne: dimensions with ne[0] the contiguous one (K for a weight)."""
        self.tensors.append((name, list(ne), ttype, data))

    @staticmethod
    def _value(gtype, value, elem_type) -> bytes:
        if gtype == GT_STRING:
            return _str(value)
        if gtype == GT_ARRAY:
            out = io.BytesIO()
            out.write(struct.pack("<IQ", elem_type, len(value)))
            if elem_type == GT_STRING:
                for v in value:
                    out.write(_str(v))
            else:
                out.write(np.asarray(value, dtype=np.dtype(_FMT[elem_type])).tobytes())
            return out.getvalue()
        return struct.pack(_FMT[gtype], value)

    def write(self, path: str):
        with open(path, "wb") as f:
            f.write(b"GGUF")
            f.write(struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
            for key, gtype, value, et in self.kv:
                f.write(_str(key))
                f.write(struct.pack("<I", gtype))
                f.write(self._value(gtype, value, et))
            off = 0
            for name, ne, ttype, data in self.tensors:
                f.write(_str(name))
                f.write(struct.pack("<I", len(ne)))
                f.write(struct.pack(f"<{len(ne)}Q", *ne))
                f.write(struct.pack("<IQ", ttype, off))
                off += _pad(len(data))
            f.write(b"\0" * (_pad(f.tell()) - f.tell()))
            for name, ne, ttype, data in self.tensors:
                f.write(data)
                f.write(b"\0" * (_pad(len(data)) - len(data)))


# ---------------------------------------------------------------------------
# Ternary encodings: `codes` are int8 weights in {-1, 0, 1} of shape
# (rows, K), K contiguous; `scale` the per-tensor scale (f32), or for the TQ
# types an array of one scale per row.
# ---------------------------------------------------------------------------
def encode_i2_s(codes: np.ndarray, scale: float) -> bytes:
    if np.ndim(scale):
        raise ValueError("I2_S has one scale per tensor: per-channel scales need TQ2_0 or TQ1_0")
    c = (codes.reshape(-1).astype(np.int16) + 1).astype(np.uint8)
    assert c.size % 128 == 0
    c = c.reshape(-1, 4, 32)
    packed = (c[:, 0] << 6) | (c[:, 1] << 4) | (c[:, 2] << 2) | c[:, 3]
    return packed.astype(np.uint8).tobytes() + struct.pack("<f", scale) + b"\0" * 28


def _block_d(blocks: np.ndarray, scale) -> np.ndarray:
    """Each block's f16 scale: its row's (or the tensor's), 0 for an all-zero block."""
    nonzero = (blocks != 1).any(axis=1)
    s = np.repeat(np.asarray(scale, dtype=np.float32).reshape(-1),
                  blocks.shape[0] // np.size(scale)).astype(np.float16)
    return np.where(nonzero, s, np.float16(0.0)).astype("<f2")


def encode_tq2_0(codes: np.ndarray, scale) -> bytes:
    if codes.shape[-1] % 256:
        raise ValueError(f"TQ2_0 rows of {codes.shape[-1]} are not whole blocks of 256")
    blocks = (codes.reshape(-1, 256).astype(np.int16) + 1).astype(np.uint8)
    c = blocks.reshape(-1, 2, 4, 32)
    qs = c[:, :, 0] | (c[:, :, 1] << 2) | (c[:, :, 2] << 4) | (c[:, :, 3] << 6)
    out = np.empty((blocks.shape[0], 66), dtype=np.uint8)
    out[:, :64] = qs.reshape(-1, 64)
    out[:, 64:] = _block_d(blocks, scale).reshape(-1, 1).view(np.uint8)
    return out.tobytes()


def _trits(c: np.ndarray) -> np.ndarray:
    v = np.zeros(c.shape[:-1], dtype=np.uint16)
    for t in range(c.shape[-1]):
        v = v * 3 + c[..., t]
    return ((v * 256 + 242) // 243).astype(np.uint8)


def encode_tq1_0(codes: np.ndarray, scale) -> bytes:
    if codes.shape[-1] % 256:
        raise ValueError(f"TQ1_0 rows of {codes.shape[-1]} are not whole blocks of 256")
    blocks = (codes.reshape(-1, 256).astype(np.int16) + 1).astype(np.uint16)
    nb = blocks.shape[0]
    a = blocks[:, :160].reshape(nb, 5, 32).transpose(0, 2, 1)
    b = blocks[:, 160:240].reshape(nb, 5, 16).transpose(0, 2, 1)
    h = blocks[:, 240:256].reshape(nb, 4, 4).transpose(0, 2, 1)
    h = np.concatenate([h, np.zeros((nb, 4, 1), dtype=np.uint16)], axis=2)
    out = np.empty((nb, 54), dtype=np.uint8)
    out[:, 0:32] = _trits(a)
    out[:, 32:48] = _trits(b)
    out[:, 48:52] = _trits(h)
    out[:, 52:54] = _block_d(blocks, scale).reshape(-1, 1).view(np.uint8)
    return out.tobytes()


# type name -> (ggml type, encoder, general.file_type)
TERNARY = {
    "i2_s": (T_I2_S, encode_i2_s, 40),
    "tq2_0": (T_TQ2_0, encode_tq2_0, 37),
    "tq1_0": (T_TQ1_0, encode_tq1_0, 36),
}


def encode_q8_0(q: np.ndarray, d: np.ndarray) -> bytes:
    """q: int codes [n_blocks, 32]; d: f16 scales [n_blocks] (quant.q8_0)."""
    out = np.empty((q.shape[0], 34), dtype=np.uint8)
    out[:, :2] = d.astype("<f2").reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q.astype(np.int8).view(np.uint8)
    return out.tobytes()


def encode_q4_0(q: np.ndarray, d: np.ndarray) -> bytes:
    """q: codes in [0, 15] [n_blocks, 32]; d: f16 scales [n_blocks] (quant.q4_0)."""
    q = q.astype(np.uint8)
    out = np.empty((q.shape[0], 18), dtype=np.uint8)
    out[:, :2] = d.astype("<f2").reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def decode_tq2_0(data: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes [n], f16 scale of each block of 256 as f32 [n / 256])."""
    raw = np.frombuffer(data, dtype=np.uint8, count=n // 256 * 66).reshape(-1, 66)
    qs = raw[:, :64].reshape(-1, 2, 32)
    c = np.stack([qs & 3, (qs >> 2) & 3, (qs >> 4) & 3, (qs >> 6) & 3], axis=2)
    codes = c.reshape(-1).astype(np.int8)
    if (codes == 3).any():
        raise ValueError("TQ2_0 code 0b11")
    d = raw[:, 64:].copy().view("<f2").reshape(-1).astype(np.float32)
    return codes - 1, d


def decode_q8_0(data: bytes, n: int) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8, count=n // 32 * 34).reshape(-1, 34)
    d = raw[:, :2].copy().view("<f2").astype(np.float32)
    return (raw[:, 2:].copy().view(np.int8).astype(np.float32) * d).reshape(-1)


def decode_q4_0(data: bytes, n: int) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8, count=n // 32 * 18).reshape(-1, 18)
    d = raw[:, :2].copy().view("<f2").astype(np.float32)
    q = np.concatenate([raw[:, 2:] & 15, raw[:, 2:] >> 4], axis=1).astype(np.float32)
    return ((q - 8.0) * d).reshape(-1)


def decode_i2_s(data: bytes, n: int) -> tuple[np.ndarray, float]:
    raw = np.frombuffer(data, dtype=np.uint8, count=n // 4).reshape(-1, 32)
    planes = np.stack([(raw >> 6) & 3, (raw >> 4) & 3, (raw >> 2) & 3, raw & 3], axis=1)
    codes = planes.reshape(-1).astype(np.int8)
    if (codes == 3).any():
        raise ValueError("I2_S code 0b11")
    scale = struct.unpack_from("<f", data, n // 4)[0]
    return codes - 1, scale


# ---------------------------------------------------------------------------
# Reader (for our own files: the fidelity reference and checks)
# ---------------------------------------------------------------------------
class Reader:
    def __init__(self, path: str):
        self.buf = memoryview(open(path, "rb").read())
        self.pos = 0
        if bytes(self.buf[:4]) != b"GGUF":
            raise ValueError(f"{path}: not GGUF")
        self.pos = 4
        version, n_t, n_kv = self._u("<IQQ")
        self.kv = {}
        for _ in range(n_kv):
            key = self._s()
            (gt,) = self._u("<I")
            self.kv[key] = self._val(gt)
        self.tensors = {}
        infos = []
        for _ in range(n_t):
            name = self._s()
            (nd,) = self._u("<I")
            ne = list(self._u(f"<{nd}Q"))
            tt, off = self._u("<IQ")
            infos.append((name, ne, tt, off))
        align = self.kv.get("general.alignment", ALIGN)
        start = (self.pos + align - 1) // align * align
        for name, ne, tt, off in infos:
            self.tensors[name] = (ne, tt, start + off)

    def _u(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def _s(self) -> str:
        (n,) = self._u("<Q")
        s = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return s

    def _val(self, gt):
        if gt == GT_STRING:
            return self._s()
        if gt == GT_ARRAY:
            et, n = self._u("<IQ")
            return [self._val(et) for _ in range(n)]
        return self._u(_FMT[gt])[0]

    def tensor(self, name: str):
        """float32 array [rows, K] (or [K]) for float tensors and Q8_0/Q4_0
        (dequantised); (codes, scale) for I2_S; (codes, block scales [rows,
        K / 256]) for TQ2_0."""
        ne, tt, off = self.tensors[name]
        n = int(np.prod(ne))
        shape = tuple(reversed(ne))
        if tt == T_F32:
            return np.frombuffer(self.buf, dtype="<f4", count=n, offset=off).reshape(shape)
        if tt == T_F16:
            return np.frombuffer(self.buf, dtype="<f2", count=n, offset=off).astype(
                np.float32).reshape(shape)
        if tt == T_I2_S:
            codes, scale = decode_i2_s(bytes(self.buf[off:off + n // 4 + 4]), n)
            return codes.reshape(shape), scale
        if tt == T_TQ2_0:
            codes, d = decode_tq2_0(bytes(self.buf[off:off + n // 256 * 66]), n)
            return codes.reshape(shape), d.reshape(shape[0], -1)
        if tt == T_Q8_0:
            return decode_q8_0(bytes(self.buf[off:off + n // 32 * 34]), n).reshape(shape)
        if tt == T_Q4_0:
            return decode_q4_0(bytes(self.buf[off:off + n // 32 * 18]), n).reshape(shape)
        raise ValueError(f"{name}: type {tt} not readable here")
