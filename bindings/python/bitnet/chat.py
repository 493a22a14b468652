"""Chat templates: a conversation as the text and tokens a chat model was
trained on."""
from __future__ import annotations

import ctypes
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

from . import _ffi
from ._owner import Owner, create
from .errors import check
from .model import Model, _tokens

#: A message: {"role": ..., "content": ...} or (role, content).
Message = Union[Mapping[str, str], Tuple[str, str]]


def _split(messages: Sequence[Message]) -> tuple["ctypes.Array[ctypes.c_char_p]",
                                                 "ctypes.Array[ctypes.c_char_p]"]:
    roles, contents = [], []
    for m in messages:
        role, content = (m["role"], m["content"]) if isinstance(m, Mapping) else m
        roles.append(role.encode("utf-8"))
        contents.append(content.encode("utf-8"))
    return (ctypes.c_char_p * len(roles))(*roles), (ctypes.c_char_p * len(contents))(*contents)


class ChatTemplate(Owner):
    """A chat template: built-in ("bitnet-2b4t", "llama3"), the one that fits
    a model, or a custom one made of plain strings. Immutable once made
    (except custom ones, by their setters); threads may share it."""

    _what = "chat template"

    def __init__(self) -> None:
        """An empty custom template, to be filled with set_role() and friends."""
        self._make(_ffi.lib().bn_chat_template_new)

    def _make(self, fn: Callable[..., int], *args: Any) -> None:
        lib = _ffi.lib()
        self._own(create(fn, lib.bn_chat_template_free, *args))
        self._lib = lib

    @classmethod
    def builtin(cls, name: str) -> "ChatTemplate":
        """A built-in template by name; NotFoundError for an unknown one."""
        self = cls.__new__(cls)
        self._make(_ffi.lib().bn_chat_template_builtin, name.encode())
        return self

    @classmethod
    def for_model(cls, model: Model) -> "ChatTemplate":
        """The built-in template that fits model; NotFoundError when none does."""
        self = cls.__new__(cls)
        self._make(_ffi.lib().bn_chat_template_for_model, model._owned.ptr)
        return self

    @property
    def name(self) -> str:
        """Name of a built-in template, or "custom"."""
        return (self._lib.bn_chat_template_name(self._ptr) or b"").decode()

    def set_role(self, role: str, prefix: str, suffix: str) -> None:
        """Text around each message of `role` (custom templates only)."""
        check(self._lib.bn_chat_template_set_role(self._ptr, role.encode(), prefix.encode(),
                                                  suffix.encode()))

    def set_begin(self, begin: str) -> None:
        """Text at the very start, e.g. "<|begin_of_text|>"."""
        check(self._lib.bn_chat_template_set_begin(self._ptr, begin.encode()))

    def set_generation_prompt(self, prompt: str) -> None:
        """The text that asks for the assistant's answer, e.g. "Assistant: "."""
        check(self._lib.bn_chat_template_set_generation_prompt(self._ptr, prompt.encode()))

    def format(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
        """The conversation as text (to show or log; to feed a model use
        tokenize(), which never turns message text into special tokens)."""
        roles, contents = _split(messages)
        n = ctypes.c_size_t()
        cap = 256
        while True:
            buf = ctypes.create_string_buffer(cap)
            rc = self._lib.bn_chat_format(self._ptr, roles, contents, len(messages),
                                          int(add_generation_prompt), buf, cap, ctypes.byref(n))
            if rc == _ffi.Status.E_RANGE and n.value >= cap:
                cap = n.value + 1
                continue
            check(rc)
            return buf.raw[:n.value].decode("utf-8", "replace")

    def tokenize(self, model: Model, messages: Sequence[Message], *,
                 add_generation_prompt: bool = True) -> list[int]:
        """The conversation's tokens (bn_chat_tokenize): the template's own
        text becomes special tokens, message text never does (a user cannot
        forge an end of turn or a system header)."""
        roles, contents = _split(messages)
        return _tokens(lambda out, cap, n: int(self._lib.bn_chat_tokenize(
            self._ptr, model._owned.ptr, roles, contents, len(messages),
            int(add_generation_prompt), out, cap, n)), 256)


def template_for(model: Model, template: Optional[Union[str, ChatTemplate]]) -> ChatTemplate:
    """`template` as a ChatTemplate (a name, an object, or None for the model's)."""
    if isinstance(template, ChatTemplate):
        return template
    return model.chat_template(template)
