"""The dataset card: ``README.md`` with the Hugging Face YAML header.

The header declares each table as a config (``configs``: which parquet file is
which split) and its ``dataset_info`` (the features, from :mod:`.features`, and
the split sizes), so ``load_dataset(OUT)`` and the Hub's viewer need no guessing.
The body says how the rows were chosen and verified and what was redacted.
"""

from __future__ import annotations

import json
from typing import Any

from prtrace.datasets.features import hf_features
from prtrace.redaction import default_redactor


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML for dicts, lists and scalars (strings JSON-quoted: valid YAML too)."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 2)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2 :]}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value), ensure_ascii=False)


def card_header(
    tables: dict[str, dict[str, Any]],
    splits: dict[str, dict[str, dict[str, int]]],
    *,
    license_id: str,
    pretty_name: str,
) -> dict[str, Any]:
    """The YAML header as data. ``tables``: name → spec; ``splits``: name → split → sizes."""
    configs = []
    infos = []
    for name, spec in tables.items():
        sizes = splits.get(name, {})
        fmt = "parquet" if name != "predictions" else "jsonl"
        configs.append(
            {
                "config_name": name,
                "data_files": [
                    {"split": split, "path": f"{name}/{split}.{fmt}"} for split in sorted(sizes)
                ],
            }
        )
        infos.append(
            {
                "config_name": name,
                "features": hf_features(spec),
                "splits": [
                    {"name": split, "num_bytes": s["bytes"], "num_examples": s["rows"]}
                    for split, s in sorted(sizes.items())
                ],
            }
        )
    return {
        "pretty_name": pretty_name,
        "license": license_id,
        "language": ["en", "code"],
        "task_categories": ["text-generation"],
        "tags": ["swe-bench", "code", "trajectories", "human", "prtrace"],
        "size_categories": [
            _size_category(sum(s["rows"] for s in splits.get("instances", {}).values()))
        ],
        "configs": configs,
        "dataset_info": infos,
    }


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def render_card(
    header: dict[str, Any],
    *,
    filters: dict[str, Any],
    verdicts: dict[str, int],
    shares: dict[str, float],
    swebench_strings: bool,
) -> str:
    rows = sum(verdicts.values())
    detectors = sorted({d.label for d in default_redactor().detectors})
    tables = "\n".join(
        f"| `{info['config_name']}` | "
        + ", ".join(f"{s['name']}: {s['num_examples']}" for s in info["splits"])
        + " |"
        for info in header["dataset_info"]
    )
    verdict_lines = "\n".join(f"- `{v}`: {n}" for v, n in sorted(verdicts.items()))
    chosen = ", ".join(f"`{k}={v}`" for k, v in sorted(filters.items()) if v) or "none"
    share_text = ", ".join(f"{name} {share:g}" for name, share in shares.items())
    lists = (
        "JSON strings (`--swebench-strings`, the original dataset's convention)"
        if swebench_strings
        else "lists of strings"
    )
    return f"""---
{to_yaml(header)}
---

# {header["pretty_name"]}

Verified human bug-fixing sessions recorded with [prtrace](https://github.com/prtrace/prtrace):
each row is one developer's trace on one task (a repository at a commit), with what they
opened, followed, edited, ran and wrote down, the final patch, and a test verdict.

| config | rows per split |
| --- | --- |
{tables}

- `instances`: SWE-bench instances (`instance_id`, `repo`, `base_commit`, `patch`,
  `test_patch`, `problem_statement`, `hints_text`, `created_at`, `version`, `FAIL_TO_PASS`,
  `PASS_TO_PASS`, `environment_setup_commit`) plus prtrace's columns (`trace_id`,
  `test_image`, `test_command`, `verdict`, judge scores). `FAIL_TO_PASS`/`PASS_TO_PASS`
  are {lists}. `patch` is the final patch without test files; `test_patch` its test files.
- `predictions`: SWE-bench predictions, the human's `patch` as `model_patch`.
- `trajectories`: each trace in the ATIF shape (`steps` with `source`, `message`,
  `reasoning_content`, `tool_calls`, `observation`); `arguments` and `extra` are JSON strings.

Every table has a `.jsonl` and (but `predictions`) a `.parquet` file per split.

## How the rows were chosen and verified

{rows} traces matched the filters {chosen}. Verdicts:

{verdict_lines}

QA applied each trace's final patch at `base_commit` in a fresh worktree, ran `test_command`
in a container with no network and bounded memory and time, before and after the patch, and
compared the two runs test by test (`FAIL_TO_PASS`, `PASS_TO_PASS`). Tasks are split by a
stable hash of `instance_id` ({share_text}): no task is in two splits.

## What was redacted

Every string was redacted by the recorder (the developer's privacy rules), by the server at
ingest, and checked again when this dataset was built: the build refuses if any detector
still fires. Secrets show as `<redacted:TYPE>`. Detectors: {", ".join(detectors)}.
Identifiers, hashes, commits and times are structure and are not redacted.

## Licence

`{header["license"]}`: set with `prtrace dataset build --license`. The code in `patch`,
`test_patch` and the trajectories stays under its repository's licence.
"""
