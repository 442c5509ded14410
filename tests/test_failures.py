"""When a step fails: its error found in its log, and one summary at the end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from leukoct.cli import app
from leukoct.failures import (
    HEADLINE,
    error_message,
    failed_jobs,
    prepend_headline,
    summary,
)

# The tail of papermill's log when a notebook cell raises (papermill 2.6,
# trimmed): its own traceback first, then the cell's exception.
PAPERMILL_TAIL = """\
Executing notebook with kernel: leukoct
working
Traceback (most recent call last):
  File ".../papermill/execute.py", line 251, in raise_for_execution_errors
    raise error
papermill.exceptions.PapermillExecutionError:
---------------------------------------------------------------------------
Exception encountered at "In [3]":
---------------------------------------------------------------------------
ProfileError                              Traceback (most recent call last)
Cell In[3], line 2
----> 2 raise ProfileError('profiles/x.yaml: invalid profile...')

\x1b[0;31mProfileError\x1b[0m: profiles/x.yaml: invalid profile
  steps.training.epochs: 'many': Input should be a valid integer

"""

SNAKEMAKE_LOG = """\
[Wed Dec  2 03:10:11 2026]
rule register:
    jobid: 12
Error in rule register:
    message: None
    jobid: 12
    output: /x/run/registration/subjects/TW-DEV-0001/qc.json
    log: {log} (check log file(s) for error details)
    wildcards: subject=TW-DEV-0001
    shell:
        leukoct register --subject TW-DEV-0001 > {log} 2>&1
        (command exited with non-zero exit code)
Shutting down, this might take some time.
"""


def test_the_cells_exception_not_papermills_is_the_message() -> None:
    assert error_message(PAPERMILL_TAIL) == (
        "ProfileError: profiles/x.yaml: invalid profile; "
        "steps.training.epochs: 'many': Input should be a valid integer")


def test_leukocts_own_message_wins_over_a_later_traceback() -> None:
    log = ("registering\nleukoct: error: row 2 (S-001), column ct_path: the file is empty\n"
           "  fix: export it again\n")
    assert error_message(log) == "row 2 (S-001), column ct_path: the file is empty; fix: export it again"


def test_a_log_without_an_exception_gives_its_last_line() -> None:
    assert error_message("epoch 3\nKilled\n") == "Killed"
    assert error_message("") == "(the log is empty)"


def test_a_failed_notebooks_log_starts_with_its_error(tmp_path: Path) -> None:
    log = tmp_path / "07.log"
    log.write_text(PAPERMILL_TAIL, encoding="utf-8")
    message = prepend_headline(log, "external")
    text = log.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADLINE + message
    assert message.startswith("external: ProfileError: profiles/x.yaml: invalid profile")
    assert error_message(text) == message.split(": ", 1)[1]
    assert text.endswith(PAPERMILL_TAIL)                      # the full log is kept
    assert prepend_headline(log, "external") == message       # once only
    assert log.read_text(encoding="utf-8") == text


def test_the_summary_names_step_subject_log_and_message(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "register_TW-DEV-0001.log"
    log.parent.mkdir()
    log.write_text("leukoct: error: row 7 (TW-DEV-0001), column flair_path: cannot be read\n")
    text = SNAKEMAKE_LOG.format(log=log)
    [job] = failed_jobs(text)
    assert (job.rule, job.wildcards, job.log) == ("register", "subject=TW-DEV-0001", log)
    assert summary(text, root=tmp_path) == (
        "the workflow stopped: 1 step(s) failed\n"
        "  step register (subject=TW-DEV-0001): row 7 (TW-DEV-0001), column flair_path: "
        "cannot be read\n"
        "    log: logs/register_TW-DEV-0001.log")


def test_a_failing_snakemake_run_ends_with_the_summary(tmp_path: Path, capsys) -> None:
    # The workflow's notebook rules end as the real Snakefile's do: `papermill
    # ... > log || leukoct notebook-failed log --step ...`.  Here a stand-in
    # for papermill fails with a leukoct error.
    bin_dir = Path(sys.executable).parent
    (tmp_path / "Snakefile").write_text(
        "rule all:\n    input: 'done.txt'\n\n"
        "rule clinical:\n    output: 'done.txt'\n    log: 'logs/09.log'\n"
        "    shell: \"printf 'running\\\\nleukoct: error: steps.clinical.age_cut: 200\\\\n' "
        "> {log} 2>&1 && false || leukoct notebook-failed {log} --step clinical\"\n")
    env_path = f"{bin_dir}:/usr/bin:/bin"
    run = subprocess.run([str(bin_dir / "snakemake"), "--cores", "1"], cwd=tmp_path,
                         capture_output=True, text=True, env={"PATH": env_path, "HOME": str(tmp_path)},
                         timeout=300)
    assert run.returncode != 0
    log = (tmp_path / "logs" / "09.log").read_text()
    assert log.startswith(f"{HEADLINE}clinical: steps.clinical.age_cut: 200\n")
    with pytest.raises(SystemExit):
        app(["failures", "--log", str(next((tmp_path / ".snakemake" / "log").glob("*.log")))])
    err = capsys.readouterr().err
    assert "step clinical: steps.clinical.age_cut: 200" in err
    assert "log: " in err and "Traceback" not in err


# A register job that SLURM killed for its memory, as Snakemake 9.27 with
# snakemake-executor-plugin-slurm 1.4.0 logs it (paths shortened), and the
# head of that job's SLURM log (slurmstepd, Slurm 22.05).
SLURM_BLOCK = """\
Error in rule register:
    message: SLURM-job '12' failed, SLURM status is: 'FAILED'. For further error details see \
the cluster/cloud log and the log files of the involved rule(s).
    jobid: 0
    output: {run}/registration/subjects/TW-DEV-0002/qc.json
    log: {run}/logs/register/TW-DEV-0002.log, {run}/logs/slurm/rule_register/TW-DEV-0002/12.log \
(check log file(s) for error details)
    shell:
        leukoct register --profile p.yaml --subject TW-DEV-0002 > log 2>&1
        (command exited with non-zero exit code)
    external_jobid: 12
Shutting down, this might take some time.
"""
SLURM_LOG = """\
srun: cluster configuration lacks support for cpu binding
slurmstepd-vm: error: StepId=12.batch exceeded memory limit (456777728 > 104857600), being killed
slurmstepd-vm: error: Exceeded job memory limit
slurmstepd-vm: error: *** JOB 12 ON vm CANCELLED AT 2026-12-02T18:21:43 ***
"""


def test_a_job_slurm_killed_is_named_with_its_slurm_log_and_why(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "logs" / "register").mkdir(parents=True)
    (run / "logs" / "register" / "TW-DEV-0002.log").write_text("")   # killed before a word
    slurm_log = run / "logs" / "slurm" / "rule_register" / "TW-DEV-0002" / "12.log"
    slurm_log.parent.mkdir(parents=True)
    slurm_log.write_text(SLURM_LOG)
    block = SLURM_BLOCK.format(run=run)
    [job] = failed_jobs(block)
    assert (job.log, job.slurm_log, job.status) == (
        run / "logs" / "register" / "TW-DEV-0002.log", slurm_log, "FAILED")
    text = summary(block, root=tmp_path)
    assert text.splitlines()[1:] == [
        "  step register: SLURM stopped the job: StepId=12.batch exceeded memory limit"
        " (456777728 > 104857600), being killed",
        "    log: -",
        "    SLURM log: run/logs/slurm/rule_register/TW-DEV-0002/12.log (state FAILED)"]


def test_a_cluster_job_that_failed_on_its_own_gives_its_error_and_slurm_log(
        tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "logs" / "register").mkdir(parents=True)
    (run / "logs" / "register" / "TW-DEV-0002.log").write_text(
        "leukoct: error: TW-DEV-0002: the FLAIR is not a NIfTI file\n")
    text = summary(SLURM_BLOCK.format(run=run), root=tmp_path)
    assert "step register: TW-DEV-0002: the FLAIR is not a NIfTI file" in text
    assert "SLURM log: run/logs/slurm/rule_register/TW-DEV-0002/12.log (state FAILED)" in text
