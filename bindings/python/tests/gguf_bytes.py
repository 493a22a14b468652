"""Minimal GGUF images built in memory, for the error-path tests."""
from __future__ import annotations

import struct
from typing import Union

_STRING = 8
_UINT32 = 4


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(metadata: dict[str, Union[str, int]], version: int = 3) -> bytes:
    """A GGUF file with the given metadata and no tensors."""
    out = b"GGUF" + struct.pack("<IQQ", version, 0, len(metadata))
    for key, value in metadata.items():
        if isinstance(value, str):
            out += _str(key) + struct.pack("<I", _STRING) + _str(value)
        else:
            out += _str(key) + struct.pack("<II", _UINT32, value)
    return out
