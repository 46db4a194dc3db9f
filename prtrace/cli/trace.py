"""``prtrace trace create|list|show|finalize|qa|export``: traces through the REST API."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from prtrace.cli import common
from prtrace.errors import PrtraceError, UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="create, list, show, finalize, check and export traces",
        description="Work with traces on the backend (PRTRACE_URL) through its REST API.",
    )
    parser.set_defaults(help_parser=parser)
    commands = parser.add_subparsers(dest="trace_command", metavar="SUBCOMMAND")
    for add in (_add_create, _add_list, _add_show, _add_finalize, _add_qa, _add_judge, _add_export):
        add(commands)
    _add_delete(commands)


def _subcommand(
    commands: argparse._SubParsersAction,
    name: str,
    token_help: str = common.TOKEN_HELP,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, **kwargs)
    common.add_connection_options(parser, token_help=token_help)
    return parser


def _add_filters(parser: argparse.ArgumentParser) -> None:
    """The filters ``GET /traces`` and ``GET /export`` share."""
    group = parser.add_argument_group("filters")
    group.add_argument("--status", choices=("open", "sealed"), help="only traces in this state")
    group.add_argument("--developer", metavar="ID", help="only this developer's traces")
    group.add_argument("--repository", metavar="URL", help="only traces on this repository")
    group.add_argument(
        "--since",
        type=common.parse_time,
        metavar="TIME",
        help="created at or after TIME (RFC 3339, a date, or an age: 30m, 12h, 7d)",
    )
    group.add_argument(
        "--until", type=common.parse_time, metavar="TIME", help="created before TIME (same forms)"
    )
    group.add_argument(
        "--verdict",
        action="append",
        metavar="V",
        help="only traces with this QA verdict (repeat or comma-separate: resolved,not_resolved)",
    )
    group.add_argument(
        "--qa-status",
        action="append",
        metavar="S",
        help="only traces whose QA is in this state (none, queued, running, done, error)",
    )
    group.add_argument("--min-score", type=float, metavar="X", help="judge overall score >= X")
    group.add_argument("--max-score", type=float, metavar="X", help="judge overall score <= X")
    group.add_argument(
        "--score",
        action="append",
        metavar="DIM:MIN:MAX",
        help="a judge dimension's score in a range, e.g. use_of_evidence:3: (repeat for more)",
    )
    group.add_argument(
        "--has-type",
        action="append",
        metavar="TYPE",
        help="only traces with at least one event of TYPE (repeat: all of them)",
    )
    group.add_argument(
        "--ai-share",
        metavar="MIN:MAX",
        help="the agent-written share of the final patch's lines in a range (0.5: = half or more)",
    )
    group.add_argument(
        "--agent", metavar="NAME", help="only traces in which this AI agent acted (claude-code)"
    )


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "status": args.status,
        "developer": args.developer,
        "repository": args.repository,
        "created_after": args.since,
        "created_before": args.until,
        "verdict": args.verdict,
        "qa_status": args.qa_status,
        "overall_min": args.min_score,
        "overall_max": args.max_score,
        "has_type": args.has_type,
        "score": args.score,
        "ai_share": args.ai_share,
        "agent": args.agent,
    }


# --- create ----------------------------------------------------------------------


def _add_create(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "create",
        help="create a trace for a task; prints its id and upload token",
        description=(
            "Create an open trace for a task (a repository at a commit). Repository, "
            "commit and branch default to the git repository in the current directory; "
            "the developer to `git config user.email`, else $USER. The upload token is "
            "shown only once."
        ),
    )
    parser.add_argument(
        "--repository", metavar="URL", help="default: git remote origin, else the repo path"
    )
    parser.add_argument("--commit", metavar="SHA", help="default: git rev-parse HEAD")
    parser.add_argument("--branch", metavar="NAME", help="default: the checked-out branch")
    parser.add_argument("--developer", metavar="ID", help="default: git user.email, else $USER")
    parser.add_argument("--test-image", metavar="IMAGE", help="Docker image the tests run in")
    parser.add_argument(
        "--test-command", metavar="CMD", help="command that runs the tests, e.g. 'pytest -q'"
    )
    parser.add_argument("--title", help="a short title for the task")
    common.add_json_option(parser)
    parser.set_defaults(handler=run_create)


def create_request(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Developer, Task and Environment from the flags, with git defaults for what is missing."""
    import platform

    from prtrace.cli import gitinfo
    from prtrace.trace import Developer, Environment, Task

    repository = args.repository or gitinfo.repository()
    commit = args.commit or gitinfo.commit()
    given = (("--repository", repository), ("--commit", commit))
    missing = [flag for flag, value in given if not value]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} required: not inside a git repository with a commit"
        )
    assert repository and commit  # narrowed by the check above
    branch = (
        args.branch if args.branch is not None else (gitinfo.branch() if not args.commit else None)
    )
    if args.developer:
        developer = Developer(id=args.developer)
    else:
        email = gitinfo.user_email()
        user = email or os.environ.get("USER") or os.environ.get("USERNAME")
        if not user:
            raise UsageError("--developer required: no git user.email and no $USER")
        developer = Developer(id=user, email=email, name=gitinfo.user_name())
    task = Task(
        repository=repository,
        commit=commit,
        branch=branch or None,
        title=args.title,
        description=getattr(args, "description", None),
        test_image=args.test_image,
        test_command=args.test_command,
        fail_to_pass=list(getattr(args, "fail_to_pass", None) or []),
    )
    environment = Environment(os=platform.system().lower() or None, shell=_shell())
    return developer, task, environment


def _shell() -> str | None:
    shell = os.environ.get("SHELL")
    return os.path.basename(shell) if shell else None


def run_create(args: argparse.Namespace) -> int:
    developer, task, environment = create_request(args)
    with common.client_from_args(args) as api:
        created = api.create_trace(developer, task, environment)
    if args.json:
        common.print_json(created)
    else:
        print(f"trace_id      {created.trace_id}")
        print(f"upload_token  {created.upload_token}")
        print("(the upload token is shown only now)", file=sys.stderr)
    return common.EXIT_OK


# --- list ------------------------------------------------------------------------


def _add_list(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "list",
        help="list traces, newest first",
        description="List traces, newest first, as a table (or --json).",
    )
    _add_filters(parser)
    parser.add_argument(
        "--limit",
        type=common.positive_int,
        default=50,
        metavar="N",
        help="show at most N traces (default: %(default)s)",
    )
    parser.add_argument(
        "--sort",
        choices=("created", "-created", "overall", "-overall"),
        default="-created",
        help="order: by creation or judge score, '-' for descending (default: %(default)s)",
    )
    common.add_json_option(parser)
    parser.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    from itertools import islice

    from prtrace.cli import display

    with common.client_from_args(args) as api:
        pages = api.iter_traces(**_filters(args), sort=args.sort, limit=min(args.limit, 500))
        summaries = list(islice(pages, args.limit))
    if args.json:
        common.print_json({"traces": summaries})
    elif not summaries:
        print("no traces", file=sys.stderr)
    else:
        rows = [display.summary_row(summary) for summary in summaries]
        common.print_table(rows, display.SUMMARY_HEADERS)
    return common.EXIT_OK


# --- show ------------------------------------------------------------------------


def _add_show(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "show",
        help="show one trace: a summary, or the whole document with --json",
        description="Show a trace: a readable summary, or with --json the whole trace document.",
    )
    parser.add_argument("trace_id", metavar="ID", help="the trace id (tr_...)")
    parser.add_argument(
        "--events",
        type=int,
        default=10,
        metavar="N",
        help="list the first N events in the summary, 0 for none (default: %(default)s)",
    )
    common.add_json_option(parser)
    _add_format(parser, "print the whole document in this dialect (seed: implies --json)")
    parser.set_defaults(handler=run_show)


def _add_format(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--format",
        choices=("native", "seed"),
        default="native",
        help=f"{help_text}: native (prtrace's own) or seed (trace-1.0.0; docs/trace-format.md)",
    )


def run_show(args: argparse.Namespace) -> int:
    from prtrace.cli import display

    with common.client_from_args(args) as api:
        if args.format == "seed":
            common.print_json(api.get_trace_raw(args.trace_id, format="seed"))
            return common.EXIT_OK
        if args.json:
            # The server's bytes, so fields at their defaults are not dropped.
            common.print_json(api.get_trace_raw(args.trace_id))
            return common.EXIT_OK
        trace = api.get_trace(args.trace_id)
    print("\n".join(display.trace_summary(trace, events=args.events)))
    return common.EXIT_OK


# --- delete ------------------------------------------------------------------------


def _add_delete(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "delete",
        help="delete a trace, its events, jobs, judgements and blobs (API token)",
        description=(
            "Remove the trace everywhere on the backend: its rows, its sealed document, its QA "
            "logs and the large-field blobs no other trace shares (docs/privacy.md)."
        ),
    )
    parser.add_argument("trace_id", metavar="ID", help="the trace id (tr_...)")
    common.add_json_option(parser)
    parser.set_defaults(handler=run_delete)


def run_delete(args: argparse.Namespace) -> int:
    with common.client_from_args(args) as api:
        result = api.delete_trace(args.trace_id)
    if args.json:
        common.print_json(result)
    else:
        print(
            f"deleted {result.trace_id}: {result.events} events, {result.blobs_deleted} blob(s) "
            f"({result.blobs_kept} shared blob(s) kept for other traces)"
        )
    return common.EXIT_OK


# --- finalize ----------------------------------------------------------------------


def _add_finalize(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "finalize",
        token_help="the trace's upload token (ptu_...) or the API token (default: the API token)",
        help="seal a trace, optionally with its final patch",
        description=(
            "Seal a trace: no more events are accepted, and (unless "
            "PRTRACE_QA_ON_FINALIZE=false) QA is queued. Use the trace's upload token "
            "or the API token (--token). Repeating it with the same patch is harmless."
        ),
    )
    parser.add_argument("trace_id", metavar="ID", help="the trace id (tr_...)")
    parser.add_argument(
        "--patch",
        metavar="FILE",
        help="the final patch, a unified diff ('-' reads it from stdin)",
    )
    common.add_json_option(parser)
    parser.set_defaults(handler=run_finalize)


def read_patch(source: str | None) -> str | None:
    """The patch text from a file or stdin (``-``); None when no --patch was given."""
    if source is None:
        return None
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the patch {source!r}: {exc}") from None
    if not text.strip():
        raise UsageError(f"the patch {source!r} is empty")
    return text


def run_finalize(args: argparse.Namespace) -> int:
    from prtrace.trace import Artifacts

    patch = read_patch(args.patch)
    artifacts = Artifacts(final_patch=patch) if patch is not None else None
    with common.client_from_args(args) as api:
        result = api.finalize(args.trace_id, artifacts)
    if args.json:
        common.print_json(result)
    else:
        text = f"{result.trace_id} {result.status} with {result.events} events"
        if result.qa_job_id:
            text += f"; QA job {result.qa_job_id} queued"
        print(text)
    return common.EXIT_OK


# --- qa --------------------------------------------------------------------------


def _add_qa(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "qa",
        help="queue QA for a trace (tests in Docker, then the LLM judge)",
        description=(
            "Queue a QA job for a trace: apply its final patch, run the tests in "
            "Docker, ask the LLM judge. Prints the job id; "
            "`prtrace trace show ID` shows the result once it is done."
        ),
    )
    parser.add_argument("trace_id", metavar="ID", help="the trace id (tr_...)")
    common.add_wait_options(parser, "the QA result")
    common.add_json_option(parser)
    parser.set_defaults(handler=run_qa)


def run_qa(args: argparse.Namespace) -> int:
    from prtrace.cli import display

    with common.client_from_args(args) as api:
        job = api.request_qa(args.trace_id)
        if not args.wait:
            if args.json:
                common.print_json(job)
            else:
                print(f"{job.job_id} {job.status}")
            return common.EXIT_OK
        print(f"prtrace: QA job {job.job_id} queued; waiting", file=sys.stderr)
        finished = api.wait_for_job(job.job_id, timeout=args.timeout)
        qa = api.get_trace(args.trace_id).qa
    if args.json:
        common.print_json({"job": finished, "qa": qa})
    else:
        print(display.qa_summary(finished, qa))
    return common.EXIT_OK if finished.status == "done" else common.EXIT_FAILURE


# --- judge -------------------------------------------------------------------------


def _add_judge(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "judge",
        help="judge a trace again with the LLM judge (another model, rubric or sample count)",
        description=(
            "Queue a judgement of a trace by the LLM judge (docs/judge.md). Every judgement "
            "is kept (GET /traces/ID/judgements); the latest is the trace's qa.judge. "
            "Without --wait, prints the job id."
        ),
    )
    parser.add_argument("trace_id", metavar="ID", help="the trace id (tr_...)")
    parser.add_argument("--model", help="the judge model (default: PRTRACE_JUDGE_MODEL)")
    parser.add_argument(
        "--rubric", metavar="ID", help="the rubric id (default: PRTRACE_JUDGE_RUBRIC)"
    )
    parser.add_argument(
        "--samples", type=common.positive_int, metavar="N", help="ask N times, report the median"
    )
    common.add_wait_options(parser, "the judgement")
    common.add_json_option(parser)
    parser.set_defaults(handler=run_judge)


def run_judge(args: argparse.Namespace) -> int:
    import msgspec

    from prtrace.trace import QA

    only_qa = msgspec.defstruct("OnlyQA", [("qa", QA)])  # the document's qa, nothing else

    with common.client_from_args(args) as api:
        job = api.request_judge(
            args.trace_id, model=args.model, rubric=args.rubric, samples=args.samples
        )
        if not args.wait:
            if args.json:
                common.print_json(job)
            else:
                print(f"{job.job_id} {job.status}")
            return common.EXIT_OK
        done = api.wait_for_job(job.job_id, timeout=args.timeout)
        if done.status == "error":
            raise PrtraceError(f"judge job {job.job_id} failed: {done.error}")
        raw = api.get_trace_raw(args.trace_id)
    judge = msgspec.json.decode(raw, type=only_qa).qa.judge  # type: ignore[attr-defined]  # defstruct's fields are dynamic
    if args.json:
        common.print_json(judge)
    else:
        print("\n".join(_judgement_lines(args.trace_id, judge)))
    return common.EXIT_OK if judge is not None and judge.status != "error" else common.EXIT_FAILURE


def _judgement_lines(trace_id: str, judge: Any) -> list[str]:
    if judge is None:
        return [f"{trace_id}: no judgement"]
    rubric = f"rubric {judge.rubric_id or '?'} {judge.rubric_version or ''}".rstrip()
    lines = [f"{trace_id} judged by {judge.model or '?'}, {rubric}: {judge.status}"]
    if judge.reason:
        lines.append(f"  {judge.reason}")
    if judge.status == "done":
        flags = ["grounded" if judge.grounded else "UNGROUNDED: " + ", ".join(judge.ungrounded)]
        if judge.low_confidence:
            flags.append("LOW CONFIDENCE (samples disagree)")
        lines.append(f"overall {judge.overall} ({'; '.join(flags)}; {judge.samples} sample(s))")
        width = max(len(name) for name in judge.scores)
        for name, score in judge.scores.items():
            spread = judge.spread.get(name)
            spread_text = f" ±{spread:g}" if spread else ""
            cited = ", ".join(judge.evidence.get(name, [])[:6])
            lines.append(f"  {name:<{width}}  {score:g}{spread_text}  [{cited}]")
        if judge.comments:
            lines.append(f"comments: {judge.comments}")
    if judge.usage:
        u = judge.usage
        cost = "unknown" if u.cost_usd is None else f"${u.cost_usd:.4f}"
        lines.append(
            f"tokens {u.prompt_tokens} in + {u.completion_tokens} out, cost {cost}, "
            f"{u.calls} call(s), {u.cached_samples} cached sample(s)"
        )
    return lines


# --- export ------------------------------------------------------------------------


def _add_export(commands: argparse._SubParsersAction) -> None:
    parser = _subcommand(
        commands,
        "export",
        help="stream trace documents as JSONL, oldest first",
        description=(
            "Stream every matching trace document, one JSON document per line (JSONL), "
            "oldest first, to stdout or a file. Memory use stays constant however many "
            "traces there are. The count goes to stderr."
        ),
    )
    _add_filters(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE (atomically: it appears only once complete) instead of stdout",
    )
    parser.add_argument(
        "--types",
        action="append",
        metavar="TYPE",
        help="keep only events of these types (repeat or comma-separate: edit,terminal_command)",
    )
    parser.add_argument(
        "--max-output-bytes",
        type=int,
        metavar="N",
        help="cap each command's stdout/stderr at N bytes (0 drops them); marked truncated",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--format",
        choices=("native", "seed", "agent-trace"),
        default="native",
        help=(
            "native: prtrace's own documents (default); seed: the seed's trace-1.0.0 shape "
            "(docs/trace-format.md); agent-trace: who wrote each line of each final "
            "patch, one Agent Trace record (cursor/agent-trace 0.1.0) per trace"
        ),
    )
    parser.add_argument(
        "trace_ids",
        nargs="*",
        metavar="TRACE_ID",
        help="export these traces only (with --format agent-trace: from the server's endpoint)",
    )
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    import msgspec

    from prtrace.cli.progress import counted

    if args.max_output_bytes is not None and args.max_output_bytes < 0:
        raise UsageError("--max-output-bytes must be 0 or more")
    with common.client_from_args(args) as api:
        stream: Any
        if args.trace_ids and args.format == "agent-trace":
            stream = (msgspec.json.encode(api.get_agent_trace(t)) for t in args.trace_ids)
        elif args.trace_ids:
            stream = (bytes(api.get_trace_raw(t, format=args.format)) for t in args.trace_ids)
        else:
            stream = api.export(
                **_filters(args),
                types=args.types,
                max_output_bytes=args.max_output_bytes,
                format="native" if args.format == "agent-trace" else args.format,
            )
            if args.format == "agent-trace":
                stream = _as_agent_traces(stream)
        with counted(stream, "exporting traces", enabled=not args.no_progress) as lines:
            if args.output and args.output != "-":
                count = _export_to_file(lines, args.output)
                where = args.output
            else:
                count = _write_lines(lines, sys.stdout.buffer)
                where = "stdout"
    noun = "trace" if count == 1 else "traces"
    print(f"exported {count} {noun} to {where}", file=sys.stderr)
    return common.EXIT_OK


def _as_agent_traces(lines: Any) -> Any:
    """Each exported document → its Agent Trace record (computed here, like the server)."""
    import msgspec

    from prtrace.attribution import trace_agent_trace
    from prtrace.trace import Trace

    decoder = msgspec.json.Decoder(Trace)
    for line in lines:
        yield msgspec.json.encode(trace_agent_trace(decoder.decode(line)))


def _write_lines(lines: Any, out: Any) -> int:
    count = 0
    for line in lines:
        out.write(line)
        out.write(b"\n")
        count += 1
    out.flush()
    return count


def _export_to_file(lines: Any, path: str) -> int:
    """Write beside the target and rename, so a failed export leaves no half file behind."""
    partial = f"{path}.partial"
    try:
        with open(partial, "wb") as out:
            count = _write_lines(lines, out)
        os.replace(partial, path)
    except OSError as exc:
        raise PrtraceError(f"cannot write {path}: {exc}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return count
