"""The LLM judge: evidence-grounded rubric scoring of a developer's process.

``judge_trace(trace, JudgeSettings.from_settings(settings))`` → a
:class:`prtrace.trace.JudgeResult`. See ``docs/judge.md``. Modules: rubric
(files, hashes), compact (the trace within a token budget, secrets redacted),
prompt (messages and answer schema), llm (the endpoint: format ladder,
retries, repair), answer (checking answers and citations), cache, pricing,
judge (samples, aggregation).
"""

from prtrace.qa.judge.judge import JudgeSettings, judge_trace
from prtrace.qa.judge.rubric import RubricError, list_rubrics, load_rubric

__all__ = ["JudgeSettings", "RubricError", "judge_trace", "list_rubrics", "load_rubric"]
