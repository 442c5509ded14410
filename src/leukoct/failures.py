"""What failed, in one message: the step, its log and the error, from the logs.

When a workflow job fails, Snakemake prints a block per failed job (rule,
wildcards, log file) among hundreds of lines, and the error itself is at the
end of the job's log, often under a traceback.  These functions find the
failed jobs in Snakemake's own log and the error in each job's log, so that
``make book`` can end with the step, the log and the message, and a failed
notebook's log can start with its message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

#: leukoct's own one-line errors (leukoct.cli) start with this.
CLI_PREFIX = "leukoct: error: "
#: The headline written at the top of a failed notebook's log.
HEADLINE = "leukoct: step failed: "
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# The exception line closing a Python traceback: "pkg.mod.SomeError: text".
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt))(: ?(.*))?$")


@dataclass(frozen=True)
class FailedJob:
    """One failed job of a Snakemake run."""

    rule: str
    wildcards: str
    log: Path | None
    #: The job's own SLURM log (stdout and stderr of its ``sbatch`` job), when
    #: it ran on a cluster through snakemake-executor-plugin-slurm.
    slurm_log: Path | None = None
    #: What the executor said of it (e.g. the SLURM state ``FAILED``, ``TIMEOUT``).
    status: str = ""


def failed_jobs(snakemake_log: str) -> list[FailedJob]:
    """The failed jobs listed in a Snakemake log (its ``Error in rule`` blocks)."""
    jobs = []
    for block in re.split(r"\n(?=Error in rule )", _ANSI.sub("", snakemake_log)):
        head = re.match(r"Error in rule ([\w-]+):", block)
        if not head:
            continue
        fields = dict(re.findall(r"^ {4}(\w+): (.*)$", block, re.M))
        logs = [p.strip() for p in fields.get("log", "").split(" (check log", 1)[0].split(", ")
                if p.strip()]
        # The SLURM plugin adds its sbatch log (<logdir>/rule_<rule>/.../<jobid>.log)
        # to the rule's logs and names the job's SLURM state in the message.
        jobid = fields.get("external_jobid", "").strip()
        slurm = [p for p in logs if jobid and Path(p).name == f"{jobid}.log"]
        rule_logs = [p for p in logs if p not in slurm]
        state = re.search(r"SLURM status is: '(\w+)'", fields.get("message", ""))
        jobs.append(FailedJob(head.group(1), fields.get("wildcards", ""),
                              Path(rule_logs[0]) if rule_logs else None,
                              Path(slurm[0]) if slurm else None,
                              state.group(1) if state else ""))
    return jobs


def slurm_error(log_text: str) -> str | None:
    """Why SLURM stopped a job, from its sbatch log: slurmstepd's first error
    (memory exceeded, cancelled at its time limit), else ``None``."""
    for line in log_text.splitlines():
        match = re.search(r"slurmstepd[^:]*: error: (.*)$", _ANSI.sub("", line).strip())
        if match:
            return match.group(1).strip(" *")
    return None


def error_message(log_text: str) -> str:
    """The error a job's log ends with: leukoct's own message, else the exception.

    Returns the text after ``leukoct: error:`` (with its indented lines) if
    the log has one; otherwise the last exception line of a traceback and the
    lines after it; otherwise the last non-empty line.
    """
    lines = [_ANSI.sub("", line).rstrip() for line in log_text.splitlines()]
    if lines and lines[0].startswith(HEADLINE):      # "<headline><step>: <message>"
        return lines[0][len(HEADLINE):].split(": ", 1)[-1]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(CLI_PREFIX):
            return _with_continuation(lines, i, lines[i][len(CLI_PREFIX):])
    for i in range(len(lines) - 1, -1, -1):
        match = _EXCEPTION.match(lines[i].strip())
        if match and not match.group(1).startswith("Papermill"):
            name = match.group(1).rsplit(".", 1)[-1]
            text = match.group(4) or ""
            return _with_continuation(lines, i, f"{name}: {text}" if text else name)
    rest = [line for line in lines if line.strip()]
    return rest[-1].strip() if rest else "(the log is empty)"


def _with_continuation(lines: list[str], i: int, first: str) -> str:
    more = []
    for line in lines[i + 1:]:
        if not line.strip() or not line.startswith(" "):
            break
        more.append(line.strip())
    return "; ".join([first.strip(), *more])


def prepend_headline(log: str | os.PathLike[str], step: str) -> str:
    """Put the job's error on the first line of its log; returns the message.

    Written atomically; a log that already starts with a headline is left
    as it is.  The first line reads ``leukoct: step failed: <step>: <message>``.
    """
    path = Path(log)
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    if text.startswith(HEADLINE):
        return text.splitlines()[0][len(HEADLINE):]    # "<step>: <message>"
    message = f"{step}: {error_message(text)}"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(f"{HEADLINE}{message}\n\n{text}", encoding="utf-8")
    os.replace(partial, path)
    return message


def summary(snakemake_log: str, root: Path | None = None, workdir: Path | None = None) -> str:
    """What ``make book`` prints when the workflow stops: each failed step,
    its log (relative to the project ``root``) and its message.

    ``workdir`` is Snakemake's working folder, against which it writes
    relative log paths (the folder holding ``.snakemake/``).
    """
    def anchored(path: Path | None) -> Path | None:
        return (workdir or Path.cwd()) / path if path is not None and not path.is_absolute() else path

    jobs = [replace(j, log=anchored(j.log), slurm_log=anchored(j.slurm_log))
            for j in failed_jobs(snakemake_log)]
    if not jobs:
        return "the workflow stopped without a failed job in its log (interrupted?)"
    lines = [f"the workflow stopped: {len(jobs)} step(s) failed"]
    for job in jobs:
        where = f" ({job.wildcards})" if job.wildcards else ""
        text = (job.log.read_text(encoding="utf-8", errors="replace")
                if job.log is not None and job.log.is_file() else "")
        message = error_message(text) if text.strip() else "no log file"
        shown = _shown(job.log, root) if text.strip() else "-"
        slurm_text = (job.slurm_log.read_text(encoding="utf-8", errors="replace")
                      if job.slurm_log is not None and job.slurm_log.is_file() else "")
        # A job SLURM killed (memory, time) leaves its own log empty: SLURM says why.
        killed = slurm_error(slurm_text)
        if killed and not text.strip():
            message = f"SLURM stopped the job: {killed}"
        elif job.status and not text.strip():
            message = f"the SLURM job ended {job.status}"
        lines += [f"  step {job.rule}{where}: {message}", f"    log: {shown}"]
        if job.slurm_log is not None:
            lines.append(f"    SLURM log: {_shown(job.slurm_log, root)}"
                         + (f" (state {job.status})" if job.status else ""))
    return "\n".join(lines)


def _shown(path: Path, root: Path | None) -> str:
    try:
        return str(path.resolve().relative_to((root or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def latest_snakemake_log(folder: str | os.PathLike[str]) -> Path | None:
    """The newest ``.snakemake/log/*.snakemake.log`` under ``folder``."""
    logs = sorted((Path(folder) / ".snakemake" / "log").glob("*.snakemake.log"))
    return logs[-1] if logs else None
