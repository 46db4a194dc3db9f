"""Reading a judge's answer: find the JSON, check it against the rubric, check the citations.

Nothing is made up or bent into range here: a missing dimension, a score
outside 1–5 or a non-integer score is an :class:`AnswerError` (the caller
asks the model once to repair it, then gives up). Citations are normalised
(``[e12]`` → ``e12``) and split into those that exist in the trace and
those that do not; a dimension with no valid citation, or with any unknown
one, is *ungrounded*.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from prtrace.qa.judge.rubric import SCORE_MAX, SCORE_MIN, Rubric


class AnswerError(ValueError):
    """The answer cannot be used as it is; the message tells the model what to fix."""


@dataclass
class Sample:
    """One checked answer of the model."""

    scores: dict[str, int]
    evidence: dict[str, list[str]]
    """Citations that exist in the trace, per dimension."""
    unknown: dict[str, list[str]]
    """Citations that do not, per dimension (only dimensions that have some)."""
    rationale: dict[str, str]
    comments: str
    mode: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ungrounded(self) -> list[str]:
        return [d for d in self.scores if d in self.unknown or not self.evidence.get(d)]

    def to_cache(self) -> dict[str, Any]:
        return {
            "scores": self.scores,
            "evidence": self.evidence,
            "unknown": self.unknown,
            "rationale": self.rationale,
            "comments": self.comments,
            "mode": self.mode,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> Sample:
        return cls(**data, cached=True)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def extract_json(text: str) -> Any:
    """The answer's JSON object: the whole text, a fenced block, or the first object inside prose."""
    text = (text or "").strip()
    if not text:
        raise AnswerError("the answer was empty")
    candidates = [text] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "scores" in value:
            return value
    raise AnswerError("no valid JSON object was found in the answer")


def _citation(value: Any) -> str | None:
    if not isinstance(value, (str, int)):
        return None
    text = str(value).strip().strip("[]").strip()
    return text or None


def check_answer(data: Any, rubric: Rubric, known_ids: frozenset[str] | set[str]) -> Sample:
    """A :class:`Sample` from decoded JSON, or an :class:`AnswerError` naming every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("scores"), dict):
        raise AnswerError('the answer must be a JSON object with a "scores" object')
    raw_scores: dict[str, Any] = data["scores"]
    problems: list[str] = []
    scores: dict[str, int] = {}
    evidence: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    rationale: dict[str, str] = {}
    for name in rubric.names:
        entry = raw_scores.get(name)
        if entry is None:
            problems.append(f"dimension {name} is missing")
            continue
        if isinstance(entry, (int, float)) and not isinstance(entry, bool):
            entry = {"score": entry, "evidence": []}
        if not isinstance(entry, dict):
            problems.append(f"{name} must be an object with score, evidence and rationale")
            continue
        score = entry.get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or score != int(score):
            problems.append(
                f"{name}.score must be an integer from {SCORE_MIN} to {SCORE_MAX}, got {score!r}"
            )
            continue
        if not SCORE_MIN <= score <= SCORE_MAX:
            problems.append(f"{name}.score {score!r} is outside {SCORE_MIN}-{SCORE_MAX}")
            continue
        scores[name] = int(score)
        cited = entry.get("evidence") or []
        if isinstance(cited, (str, int)):
            cited = [cited]
        ids = (
            [c for c in (_citation(v) for v in cited if v is not None) if c]
            if isinstance(cited, list)
            else []
        )
        evidence[name] = list(dict.fromkeys(i for i in ids if i in known_ids))
        missing = list(dict.fromkeys(i for i in ids if i not in known_ids))
        if missing:
            unknown[name] = missing
        if isinstance(entry.get("rationale"), str):
            rationale[name] = entry["rationale"]
    if problems:
        raise AnswerError("; ".join(problems))
    comments = data.get("comments")
    return Sample(
        scores=scores,
        evidence=evidence,
        unknown=unknown,
        rationale=rationale,
        comments=comments if isinstance(comments, str) else "",
    )
