"""Asking an OpenAI-compatible endpoint for one judgement sample.

The output-format ladder: ``json_schema`` (strict structured output) →
``json_object`` (JSON mode) → plain text, from which the JSON is extracted.
A rung is left when the endpoint rejects the request format (400/404/422);
the rung that worked is remembered per endpoint and model for the process,
so later samples do not pay for the failed tries again. An answer that cannot
be used (no JSON, a missing dimension, a score out of range) gets one repair
request that shows the model its answer and what is wrong.

Transient failures — 408, 409, 429, 5xx, timeouts, lost connections — are
retried with exponential backoff (honouring ``Retry-After``), at most
``max_retries`` times; the SDK's own retries are off so the bound is ours.
A refusal (``message.refusal`` or a ``content_filter`` stop) is final.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import openai

from prtrace.errors import PrtraceError
from prtrace.qa.judge.answer import AnswerError, Sample, check_answer, extract_json
from prtrace.qa.judge.rubric import Rubric

MODES = ("json_schema", "json_object", "text")
_RETRY_STATUS = frozenset({408, 409, 429})
_FORMAT_REJECTED = (openai.BadRequestError, openai.UnprocessableEntityError, openai.NotFoundError)
_working_mode: dict[tuple[str, str], str] = {}
_mode_lock = threading.Lock()


class JudgeCallError(PrtraceError):
    """The endpoint could not give a usable answer (the message says why).

    ``final`` means another sample would only meet the same failure (the
    endpoint is down, rejects the request, or the model refuses).
    """

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


class Refused(JudgeCallError):
    """The model declined to judge."""

    def __init__(self, message: str) -> None:
        super().__init__(message, final=True)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to ask."""

    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_tokens: int = 2000

    def client(self) -> openai.OpenAI:
        # Local servers (vLLM, Ollama, llama.cpp) want no key, but the SDK wants one.
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "not-needed",
            max_retries=0,
            timeout=self.timeout_s,
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.base_url or "openai", self.model)


def response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "process_judgement", "strict": True, "schema": schema},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def ask_sample(
    client: openai.OpenAI,
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    rubric: Rubric,
    known_ids: frozenset[str],
) -> Sample:
    """One checked sample: the ladder, the retries, and one repair if the answer is unusable."""
    content, mode, usage = _ask(client, endpoint, messages, schema)
    try:
        sample = check_answer(extract_json(content), rubric, known_ids)
    except AnswerError as problem:
        repair = messages + [
            {"role": "assistant", "content": content or ""},
            {
                "role": "user",
                "content": (
                    f"That answer cannot be used: {problem}. Reply with only the corrected JSON "
                    "object, with every dimension, integer scores and cited event ids."
                ),
            },
        ]
        content, mode, more = _ask(client, endpoint, repair, schema)
        usage = (usage[0] + more[0], usage[1] + more[1], usage[2] + more[2])
        try:
            sample = check_answer(extract_json(content), rubric, known_ids)
        except AnswerError as again:
            raise JudgeCallError(f"unusable answer after one repair: {again}") from None
        sample.extra["repaired"] = str(problem)
    sample.mode = mode
    sample.prompt_tokens, sample.completion_tokens = usage[0], usage[1]
    sample.extra["calls"] = usage[2]
    return sample


def _ask(
    client: openai.OpenAI,
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
) -> tuple[str, str, tuple[int, int, int]]:
    """The answer's text, the rung that gave it, and (prompt, completion tokens, calls)."""
    with _mode_lock:
        start = _working_mode.get(endpoint.key, MODES[0])
    calls = [0]
    for mode in MODES[MODES.index(start) :]:
        try:
            completion = _create(client, endpoint, messages, response_format(mode, schema), calls)
        except _FORMAT_REJECTED as exc:
            if mode == MODES[-1]:
                raise JudgeCallError(
                    f"the endpoint rejected the request: {_describe(exc)}", final=True
                ) from None
            continue
        with _mode_lock:
            _working_mode[endpoint.key] = mode
        return _content(completion), mode, _usage(completion) + (calls[0],)
    raise AssertionError("unreachable")


def _create(
    client: openai.OpenAI,
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    fmt: dict[str, Any] | None,
    calls: list[int],
) -> Any:
    kwargs: dict[str, Any] = {"model": endpoint.model, "messages": messages}
    if endpoint.max_tokens:
        kwargs["max_tokens"] = endpoint.max_tokens
    if fmt is not None:
        kwargs["response_format"] = fmt
    attempt = 0
    while True:
        calls[0] += 1
        try:
            return client.chat.completions.create(**kwargs)
        except (openai.APITimeoutError, openai.APIConnectionError, openai.APIStatusError) as exc:
            if not _transient(exc):
                raise
            if attempt >= endpoint.max_retries:
                raise JudgeCallError(
                    f"gave up after {attempt + 1} attempts: {_describe(exc)}", final=True
                ) from None
            time.sleep(_delay(endpoint, attempt, exc))
            attempt += 1


def _transient(exc: Exception) -> bool:
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    status = getattr(exc, "status_code", 0) or 0
    return status in _RETRY_STATUS or status >= 500


def _delay(endpoint: Endpoint, attempt: int, exc: Exception) -> float:
    """Exponential backoff with jitter; a server's ``Retry-After`` (seconds) wins, capped."""
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        try:
            return min(endpoint.max_backoff_s, max(0.0, float(header)))
        except ValueError:
            pass
    base = min(endpoint.max_backoff_s, endpoint.backoff_s * 2**attempt)
    return base * random.uniform(0.5, 1.0)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"


def _content(completion: Any) -> str:
    if not completion.choices:
        raise JudgeCallError("the endpoint answered with no choices")
    choice = completion.choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise Refused(f"the model refused: {refusal[:300]}")
    if choice.finish_reason == "content_filter":
        raise Refused("the model's content filter stopped the answer")
    return message.content or ""


def _usage(completion: Any) -> tuple[int, int]:
    usage = completion.usage
    if usage is None:
        return (0, 0)
    return (usage.prompt_tokens or 0, usage.completion_tokens or 0)
