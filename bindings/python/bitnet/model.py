"""Model: a loaded GGUF model, its metadata and its vocabulary."""
from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Union

from . import _ffi
from ._ffi import DetokenizeFlags, TokenizeFlags
from ._owner import Handle, Owner
from .errors import CancelledError, check

if TYPE_CHECKING:
    from .chat import ChatTemplate, Message
    from .context import Context
    from .sampling import Sampler

#: Called during a load with the fraction done; return False to cancel it.
ProgressCallback = Callable[[float], Optional[bool]]


def _tokens_array(tokens: Sequence[int]) -> "ctypes.Array[ctypes.c_int32]":
    return (ctypes.c_int32 * len(tokens))(*tokens)


def _tokens(call: Callable[[Any, int, Any], int], cap: int) -> list[int]:
    """Tokens from a call(out, capacity, &n_out) that fails with BN_E_RANGE
    when the room is short: retried with the room it asked for."""
    n = ctypes.c_size_t()
    while True:
        out = (ctypes.c_int32 * cap)()
        rc = call(out, cap, ctypes.byref(n))
        if rc == _ffi.Status.E_RANGE and n.value > cap:
            cap = n.value
            continue
        check(rc)
        return list(out[:n.value])


class Model(Owner):
    """A loaded model. Read-only: any number of threads may use one model
    (and make contexts on it) at once.

    >>> with bitnet.Model("models/default.gguf") as model:
    ...     print(model.arch, model.n_vocab)
    """

    _what = "model"

    def __init__(self, path: Union[str, "os.PathLike[str]"], *, use_mmap: bool = True,
                 check_weights: bool = True, cpu_level_cap: int = -1, output_q8: bool = False,
                 output_q4: bool = False, progress: Optional[ProgressCallback] = None) -> None:
        """Loads a GGUF file. The options are bn_model_params' fields: map the
        file or read it, check the ternary weights, cap the kernels'
        instruction-set level (-1 = the best), keep the output head as Q8_0
        or Q4_0; progress(fraction) returning False cancels the load."""
        self._load(os.fspath(path), None, progress, use_mmap=use_mmap,
                   check_weights=check_weights, cpu_level_cap=cpu_level_cap,
                   output_q8=output_q8, output_q4=output_q4)

    @classmethod
    def from_bytes(cls, data: bytes, *, check_weights: bool = True, cpu_level_cap: int = -1,
                   output_q8: bool = False, output_q4: bool = False,
                   progress: Optional[ProgressCallback] = None) -> "Model":
        """Loads a model from a GGUF image in memory (kept until the model is freed)."""
        self = cls.__new__(cls)
        self._load(None, bytes(data), progress, check_weights=check_weights,
                   cpu_level_cap=cpu_level_cap, output_q8=output_q8, output_q4=output_q4)
        return self

    def _load(self, path: Optional[str], data: Optional[bytes],
              progress: Optional[ProgressCallback], **fields: Union[bool, int]) -> None:
        lib = _ffi.lib()
        p = _ffi.ModelParams()
        lib.bn_model_params_default(ctypes.byref(p))
        for name, value in fields.items():
            setattr(p, name, int(value))
        raised: list[BaseException] = []
        if progress is not None:
            callback = progress

            def call(fraction: float, _user: Any) -> int:
                try:
                    return 0 if callback(fraction) in (None, True) else 1
                except BaseException as e:      # re-raised after the load
                    raised.append(e)
                    return 1
            p.progress = _ffi.PROGRESS_FN(call)
        out = ctypes.c_void_p()
        if data is not None:
            buf = ctypes.create_string_buffer(data, len(data))
            rc = lib.bn_model_load_from_memory(ctypes.byref(out), buf, len(data), ctypes.byref(p))
        else:
            buf = None
            rc = lib.bn_model_load(ctypes.byref(out), (path or "").encode(), ctypes.byref(p))
        if raised:
            raise raised[0]
        if rc == _ffi.Status.E_CANCELLED:
            raise CancelledError(f"the load of {path or 'the model'} was cancelled", rc)
        check(rc)
        assert out.value is not None
        self._own(Handle(out.value, lib.bn_model_free, keep=buf))
        self._lib = lib

    def __repr__(self) -> str:
        if self.closed:
            return "<bitnet.Model (closed)>"
        return f"<bitnet.Model {self.arch} {self.name!r}, {self.n_params} parameters>"

    # ---- what the model is --------------------------------------------------------
    def _text(self, fn: str) -> str:
        return (getattr(self._lib, fn)(self._ptr) or b"").decode("utf-8", "replace")

    def _int(self, fn: str) -> int:
        return int(getattr(self._lib, fn)(self._ptr))

    @property
    def arch(self) -> str:
        """general.architecture, e.g. "bitnet-b1.58"."""
        return self._text("bn_model_arch_name")

    @property
    def name(self) -> str:
        """general.name, or "" when the file has none."""
        return self._text("bn_model_name")

    @property
    def weight_type(self) -> str:
        """Type of the ternary weights: "I2_S", "TQ2_0", ..."""
        return self._text("bn_model_weight_type_name")

    @property
    def kernel_name(self) -> str:
        """The kernels chosen for this model on this CPU."""
        return self._text("bn_model_kernel_name")

    @property
    def n_vocab(self) -> int:
        """Vocabulary size."""
        return self._int("bn_model_n_vocab")

    @property
    def n_embd(self) -> int:
        """Embedding (hidden) size."""
        return self._int("bn_model_n_embd")

    @property
    def n_layer(self) -> int:
        """Number of transformer blocks."""
        return self._int("bn_model_n_layer")

    @property
    def n_head(self) -> int:
        """Attention (query) heads."""
        return self._int("bn_model_n_head")

    @property
    def n_head_kv(self) -> int:
        """Key/value heads."""
        return self._int("bn_model_n_head_kv")

    @property
    def n_ff(self) -> int:
        """Inner size of the feed-forward network."""
        return self._int("bn_model_n_ff")

    @property
    def n_ctx_train(self) -> int:
        """Context length the model was trained with."""
        return self._int("bn_model_n_ctx_train")

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return self._int("bn_model_n_params")

    @property
    def weight_bytes(self) -> int:
        """Bytes of tensor data in the file."""
        return self._int("bn_model_weight_bytes")

    @property
    def bytes_per_token(self) -> int:
        """Bytes of weights read to decode one token."""
        return self._int("bn_model_bytes_per_token")

    @property
    def metadata(self) -> dict[str, str]:
        """Every metadata key and its value as text (arrays as '[type x count]')."""
        out = {}
        for i in range(self._int("bn_model_meta_count")):
            n = check(self._lib.bn_model_meta_key_by_index(self._ptr, i, None, 0))
            buf = ctypes.create_string_buffer(n + 1)
            check(self._lib.bn_model_meta_key_by_index(self._ptr, i, buf, n + 1))
            key = buf.value.decode("utf-8", "replace")
            out[key] = self.meta(key)
        return out

    def meta(self, key: str) -> str:
        """The value of one metadata key as text; NotFoundError when absent."""
        k = key.encode()
        n = check(self._lib.bn_model_meta_string(self._ptr, k, None, 0))
        buf = ctypes.create_string_buffer(n + 1)
        check(self._lib.bn_model_meta_string(self._ptr, k, buf, n + 1))
        return buf.raw[:n].decode("utf-8", "replace")

    # ---- tokens --------------------------------------------------------------------
    def tokenize(self, text: Union[str, bytes], *, add_special: bool = False,
                 parse_special: bool = False) -> list[int]:
        """Splits text into token ids. add_special adds BOS (and EOS) as the
        model file asks; parse_special turns text spelling a special token
        ('<|eot_id|>') into that token (never do that with untrusted text)."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        flags = (TokenizeFlags.ADD_SPECIAL if add_special else 0) | \
                (TokenizeFlags.PARSE_SPECIAL if parse_special else 0)
        return _tokens(lambda out, cap, n: int(self._lib.bn_tokenize(
            self._ptr, data, len(data), out, cap, flags, n)), len(data) + 4)

    def _bytes(self, call: Callable[[Any, int, Any], int]) -> bytes:
        n = ctypes.c_size_t()
        cap = 64
        while True:
            buf = ctypes.create_string_buffer(cap)
            rc = call(buf, cap, ctypes.byref(n))
            if rc == _ffi.Status.E_RANGE and n.value > cap:
                cap = n.value
                continue
            check(rc)
            return buf.raw[:n.value]

    def token_to_piece(self, token: int, *, special: bool = False) -> bytes:
        """The bytes one token stands for (may be part of a UTF-8 sequence)."""
        flags = DetokenizeFlags.SPECIAL if special else 0
        return self._bytes(lambda buf, cap, n: int(self._lib.bn_token_to_piece(
            self._ptr, token, buf, cap, flags, n)))

    def detokenize_bytes(self, tokens: Sequence[int], *, special: bool = False) -> bytes:
        """The bytes of a token sequence."""
        arr = _tokens_array(tokens)
        flags = DetokenizeFlags.SPECIAL if special else 0
        return self._bytes(lambda buf, cap, n: int(self._lib.bn_detokenize(
            self._ptr, arr, len(tokens), buf, cap, flags, n)))

    def detokenize(self, tokens: Sequence[int], *, special: bool = False) -> str:
        """The text of a token sequence (invalid UTF-8 shown as U+FFFD)."""
        return self.detokenize_bytes(tokens, special=special).decode("utf-8", "replace")

    def _special(self, fn: str) -> Optional[int]:
        t = self._int(fn)
        return None if t < 0 else t

    @property
    def bos(self) -> Optional[int]:
        """Beginning-of-sequence token, or None."""
        return self._special("bn_model_token_bos")

    @property
    def eos(self) -> Optional[int]:
        """End-of-sequence token, or None."""
        return self._special("bn_model_token_eos")

    @property
    def eot(self) -> Optional[int]:
        """End-of-turn token, or None."""
        return self._special("bn_model_token_eot")

    @property
    def pad(self) -> Optional[int]:
        """Padding token, or None."""
        return self._special("bn_model_token_pad")

    def is_eog(self, token: int) -> bool:
        """True if the token ends generation (EOS, EOT and the like)."""
        return bool(self._lib.bn_model_token_is_eog(self._ptr, token))

    # ---- what is made on a model -------------------------------------------------------
    def context(self, **params: Any) -> "Context":
        """A new Context on this model (see Context for the parameters)."""
        from .context import Context
        return Context(self, **params)

    def sampler(self, **params: Any) -> "Sampler":
        """A new Sampler for this model (see Sampler for the parameters)."""
        from .sampling import Sampler
        return Sampler(self, **params)

    def chat_template(self, name: Optional[str] = None) -> "ChatTemplate":
        """The built-in chat template `name`, or the one that fits this model."""
        from .chat import ChatTemplate
        return ChatTemplate.builtin(name) if name else ChatTemplate.for_model(self)

    def generate(self, prompt: str, **kw: Any) -> Iterator[str]:
        """Streams the continuation of prompt: see bitnet.generate()."""
        from .generate import generate
        return generate(self, prompt, **kw)

    def chat(self, messages: Sequence["Message"], **kw: Any) -> Iterator[str]:
        """Streams the assistant's answer to messages: see bitnet.chat()."""
        from .generate import chat
        return chat(self, messages, **kw)

    # for the objects made on the model
    @property
    def _owned(self) -> Handle:
        self._ptr      # raises when closed
        assert self._handle is not None
        return self._handle

