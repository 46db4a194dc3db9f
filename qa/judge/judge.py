"""One judgement of a trace: rubric → view → N samples (cached) → median, spread, grounding.

:func:`judge_trace` never raises for what can go wrong with a model or a
rubric: it returns a :class:`~prtrace.trace.JudgeResult` whose ``status`` is
``done``, ``skipped`` (no model configured: no scores are invented) or
``error`` with the ``reason``. It is synchronous; the backend runs it in a
thread after the tests, and again for each re-judging request.

Aggregation: per dimension the median of the samples' scores and the spread
(max − min); a spread at or above the rubric's ``disagreement`` marks the
judgement ``low_confidence``. ``overall`` is the rubric's weighted mean of the
medians, computed here, not asked of the model. Evidence is the union of the
samples' valid citations; a dimension is ungrounded when any sample cited an
unknown event or none cited a valid one, and ``grounded`` is true only when
no dimension is ungrounded.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from prtrace.config import Settings
from prtrace.qa.judge.answer import Sample
from prtrace.qa.judge.cache import DirCache, JudgeCache, cache_key
from prtrace.qa.judge.llm import Endpoint, JudgeCallError, ask_sample
from prtrace.qa.judge.pricing import PriceError, cost_usd, price_table
from prtrace.qa.judge.prompt import JudgeView, build_view, response_schema
from prtrace.qa.judge.rubric import Rubric, RubricError, load_rubric
from prtrace.trace import JudgeResult, JudgeUsage, Trace

MAX_SAMPLES = 10


@dataclass(frozen=True)
class JudgeSettings:
    """Everything a judgement needs to know besides the trace."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    rubric: str = "default"
    rubric_dirs: tuple[str, ...] = ()
    samples: int = 1
    token_budget: int = 24_000
    max_tokens: int = 2000
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 1.0
    prices: str = ""
    cache_dir: Path | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        model: str | None = None,
        rubric: str | None = None,
        samples: int | None = None,
    ) -> JudgeSettings:
        """The configured judge, with a request's overrides (``None`` keeps the setting)."""
        return cls(
            model=model or settings.judge_model,
            base_url=settings.judge_base_url,
            api_key=settings.openai_api_key,
            rubric=rubric or settings.judge_rubric,
            rubric_dirs=(settings.judge_rubric_dir,) if settings.judge_rubric_dir else (),
            samples=samples or settings.judge_samples,
            token_budget=settings.judge_token_budget,
            max_tokens=settings.judge_max_tokens,
            timeout_s=settings.judge_timeout_seconds,
            max_retries=settings.judge_max_retries,
            backoff_s=settings.judge_backoff_seconds,
            prices=settings.judge_prices,
            cache_dir=Path(settings.home) / "judge-cache",
        )

    def endpoint(self) -> Endpoint:
        assert self.model
        return Endpoint(
            model=self.model,
            base_url=self.base_url or None,
            api_key=self.api_key,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            max_tokens=self.max_tokens,
        )

    def skip_reason(self) -> str | None:
        """Why no model can be asked, or None."""
        if not self.model:
            return "no judge model configured (set PRTRACE_JUDGE_MODEL)"
        if not self.base_url and not self.api_key:
            return "no PRTRACE_JUDGE_BASE_URL and no OPENAI_API_KEY: nowhere to send the judge's request"
        return None


def judge_trace(
    trace: Trace,
    settings: JudgeSettings,
    *,
    cache: JudgeCache | None = None,
    client: Any = None,
) -> JudgeResult:
    """Judge ``trace`` (its ``qa.tests`` go in the outcome block). See the module docstring."""
    now = datetime.now(UTC)
    try:
        rubric = load_rubric(settings.rubric, settings.rubric_dirs)
    except RubricError as exc:
        return JudgeResult(status="error", model=settings.model, reason=str(exc), judged_at=now)
    base = JudgeResult(
        status="skipped",
        model=settings.model,
        rubric_version=rubric.version,
        rubric_id=rubric.id,
        rubric_hash=rubric.content_hash,
        judged_at=now,
    )
    reason = settings.skip_reason()
    if reason:
        return replace(base, reason=reason)
    if not 1 <= settings.samples <= MAX_SAMPLES:
        return replace(base, status="error", reason=f"samples must be 1-{MAX_SAMPLES}")
    try:
        prices = price_table(settings.prices)
    except PriceError as exc:
        return replace(base, status="error", reason=str(exc))
    view = build_view(trace, rubric, settings.token_budget)
    base = replace(base, trace_digest=view.digest)
    if cache is None and settings.cache_dir is not None:
        cache = DirCache(settings.cache_dir)
    run = _Run(settings, rubric, view, cache, client)
    samples, failures = run.samples()
    usage = run.usage(prices)
    if not samples:
        return replace(base, status="error", reason=failures[0], usage=usage, samples=0)
    result = aggregate(samples, rubric, base, usage)
    if failures:
        result = replace(
            result,
            reason=f"{len(failures)} of {settings.samples} samples failed: {failures[0]}",
        )
    return result


@dataclass
class _Run:
    """The samples of one judgement, each from the cache or the model."""

    settings: JudgeSettings
    rubric: Rubric
    view: JudgeView
    cache: JudgeCache | None
    client: Any
    spent: list[Sample] = field(default_factory=list)
    calls: int = 0

    def samples(self) -> tuple[list[Sample], list[str]]:
        endpoint = self.settings.endpoint()
        schema = response_schema(self.rubric)
        got: list[Sample] = []
        failures: list[str] = []
        for index in range(self.settings.samples):
            key = cache_key(self.view.digest, self.rubric.content_hash, endpoint.model, index)
            stored = self.cache.get(key) if self.cache else None
            if stored is not None:
                got.append(Sample.from_cache(stored))
                continue
            if self.client is None:
                self.client = endpoint.client()
            try:
                sample = ask_sample(
                    self.client,
                    endpoint,
                    self.view.messages,
                    schema,
                    self.rubric,
                    self.view.trace.all_ids,
                )
            except JudgeCallError as exc:
                failures.append(str(exc))
                if exc.final:  # another sample would only repeat it
                    break
                continue
            self.calls += sample.extra.get("calls", 1)
            self.spent.append(sample)
            if self.cache:
                self.cache.put(key, sample.to_cache())
            got.append(sample)
        return got, failures

    def usage(self, prices: dict[str, tuple[float, float]]) -> JudgeUsage:
        prompt = sum(s.prompt_tokens for s in self.spent)
        completion = sum(s.completion_tokens for s in self.spent)
        cost = cost_usd(self.settings.model or "", prompt, completion, prices)
        cached = self.settings.samples - len(self.spent)
        return JudgeUsage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            calls=self.calls,
            cached_samples=max(0, cached),
        )


def aggregate(
    samples: list[Sample], rubric: Rubric, base: JudgeResult, usage: JudgeUsage
) -> JudgeResult:
    scores: dict[str, float] = {}
    spread: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    ungrounded: list[str] = []
    for name in rubric.names:
        values = [s.scores[name] for s in samples]
        scores[name] = float(statistics.median(values))
        spread[name] = float(max(values) - min(values))
        evidence[name] = list(dict.fromkeys(i for s in samples for i in s.evidence.get(name, [])))
        bad = list(dict.fromkeys(i for s in samples for i in s.unknown.get(name, [])))
        if bad:
            unknown[name] = bad
        if bad or any(not s.evidence.get(name) for s in samples):
            ungrounded.append(name)
    first = samples[0]
    return replace(
        base,
        status="done",
        scores=scores,
        overall=rubric.overall(scores),
        comments=first.comments,
        evidence=evidence,
        samples=len(samples),
        spread=spread,
        grounded=not ungrounded,
        ungrounded=ungrounded,
        unknown_citations=unknown,
        low_confidence=any(v >= rubric.disagreement for v in spread.values()),
        rationale=first.rationale,
        sample_scores=[s.scores for s in samples],
        output_mode=next((s.mode for s in samples if not s.cached), first.mode),
        usage=usage,
    )
