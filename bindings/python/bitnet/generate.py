"""Streaming generation: generate() continues a prompt, chat() answers a
conversation. Both yield text as it becomes safe to show, and give the same
text as bitnet-cli for the same model, prompt and sampling parameters."""
from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence, Union

from .chat import ChatTemplate, Message, template_for
from .context import Context
from ._ffi import Status
from .errors import ContextFullError
from .model import Model
from .sampling import Sampler, TextStream
from .speculative import Speculative


def _default_context(model: Model, n_ctx: int, n_threads: int,
                     n_batch: Optional[int]) -> Context:
    # bitnet-cli's default: the training context, at most 4096 tokens
    if n_ctx == 0:
        train = model.n_ctx_train
        n_ctx = train if 0 < train < 4096 else 4096
    return Context(model, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch)


def _stream(model: Model, tokens: Sequence[int], max_tokens: Optional[int], stop: Sequence[str],
            context: Optional[Context], sampler: Optional[Sampler], n_ctx: int, n_threads: int,
            n_batch: Optional[int], spec: Optional[Speculative],
            sampler_params: dict[str, Any]) -> Iterator[str]:
    own_ctx = context is None
    own_sampler = sampler is None
    ctx = context if context is not None else _default_context(model, n_ctx, n_threads, n_batch)
    try:
        smp = sampler if sampler is not None else Sampler(model, **sampler_params)
        try:
            with TextStream(model, stop) as ts:
                room = ctx.n_ctx - ctx.pos
                if len(tokens) >= room:     # one position is kept for the answer
                    raise ContextFullError(f"the prompt of {len(tokens)} tokens does not fit: "
                                           f"the context has room for {room}",
                                           Status.E_CTX_FULL)
                ctx.feed(tokens)
                smp.accept(tokens)
                if spec is not None:
                    spec.begin(tokens)
                n = 0
                while max_tokens is None or n < max_tokens:
                    if spec is None:
                        step = [smp.sample(ctx)]
                    else:
                        try:
                            step = spec.step(ctx, smp)
                        except ContextFullError:
                            break
                    for t in step:
                        n += 1
                        text = ts.push(t)
                        if text:
                            yield text
                        if ts.stopped or n == max_tokens:
                            break
                    if ts.stopped or n == max_tokens or ctx.pos >= ctx.n_ctx:
                        break
                    if spec is None:
                        ctx.decode(step)
                rest = ts.flush()
                if rest:
                    yield rest
        finally:
            if own_sampler:
                smp.close()
    finally:
        if own_ctx:
            ctx.close()


def generate(model: Model, prompt: str, *, max_tokens: Optional[int] = None,
             stop: Sequence[str] = (), context: Optional[Context] = None,
             sampler: Optional[Sampler] = None, n_ctx: int = 0, n_threads: int = 0,
             n_batch: Optional[int] = None, speculative: Optional[Speculative] = None,
             **sampler_params: Any) -> Iterator[str]:
    """Streams the continuation of `prompt` (BOS added as the model asks).

    Stops at an end-of-generation token, a stop string (not yielded),
    max_tokens sampled tokens, or a full context. Uses `context` and
    `sampler` when given (continuing their state), else makes them: n_ctx 0
    is bitnet-cli's default (the training context, at most 4096), and the
    other keywords (seed, temperature, top_k, ...) go to Sampler. With a
    Speculative decoder the text is the same (greedy) or equally distributed,
    in fewer passes where it repeats its context.

    >>> "".join(model.generate("And God said", max_tokens=20, seed=1))
    """
    tokens = model.tokenize(prompt, add_special=True)
    if not tokens:
        raise ValueError("the prompt is empty and the model adds no BOS token")
    return _stream(model, tokens, max_tokens, stop, context, sampler, n_ctx, n_threads, n_batch,
                   speculative, sampler_params)


def chat(model: Model, messages: Sequence[Message], *,
         template: Optional[Union[str, ChatTemplate]] = None, max_tokens: Optional[int] = None,
         stop: Sequence[str] = (), context: Optional[Context] = None,
         sampler: Optional[Sampler] = None, n_ctx: int = 0, n_threads: int = 0,
         n_batch: Optional[int] = None, speculative: Optional[Speculative] = None,
         **sampler_params: Any) -> Iterator[str]:
    """Streams the assistant's answer to `messages` ({"role", "content"}
    mappings or (role, content) pairs, roles "system", "user", "assistant").

    The prompt comes from bn_chat_tokenize: the template's markers are special
    tokens, message text never is. `template` is a built-in name, a
    ChatTemplate, or None for the model's own. Other keywords as generate().

    >>> "".join(model.chat([("user", "Who made the light?")], max_tokens=30))
    """
    t = template_for(model, template)
    try:
        tokens = t.tokenize(model, messages, add_generation_prompt=True)
    finally:
        if t is not template:
            t.close()
    return _stream(model, tokens, max_tokens, stop, context, sampler, n_ctx, n_threads, n_batch,
                   speculative, sampler_params)
