"""The command line runs the Dagster jobs of `pipelines.definitions` in process, against
the workspace's instance — one billing path: whichever way a month is billed (the
command line, the schedule, the UI), it is the same assets and checks, and the run, its
materialisations and check results are in the instance the UI reads.

The terminal gets the steps' progress lines (assets.progress) and, at the end, figures
from the materialisations' metadata; Dagster's own console log is silenced."""
from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class ChecksFailed(Exception):
    """A blocking check failed: what was loaded is kept (and published), nothing was
    rated or issued."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} blocking check problem(s)")
        self.problems = problems


@dataclass
class RunOutcome:
    run_id: str
    metadata: dict[str, dict] = field(default_factory=dict)  # asset key → metadata (plain values)


def dagster_home(ws) -> Path:
    """$DAGSTER_HOME, else `.dagster` in the workspace — with the repository's dagster.yaml
    in it (the instance configuration: queue, no telemetry). The environment is not
    changed: one process may run jobs for several workspaces (tests do)."""
    home = Path(os.environ.get("DAGSTER_HOME") or ws.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    src = REPO / "dagster.yaml"
    if src.exists() and not (home / "dagster.yaml").exists():
        shutil.copyfile(src, home / "dagster.yaml")
    return home


def workspace_instance(ws):
    """The Dagster instance of the workspace (`dagster dev` with the same DAGSTER_HOME shows
    its runs)."""
    from dagster import DagsterInstance
    return DagsterInstance.from_config(str(dagster_home(ws)))


def run_job(ws, job_name: str, *, partition: str | None = None, op_config: dict | None = None,
            say: Callable[[str, str], None] = lambda m, level: print(m)) -> RunOutcome:
    """Executes `job_name` in process for `partition` (added to the job's dynamic
    partitions first). A failure in a step re-raises the step's own exception (the
    command line maps it to one line and an exit code); a failed blocking check raises
    ChecksFailed with every problem the failed checks reported."""
    from dagster import DynamicPartitionsDefinition
    from dagster._core.errors import DagsterAssetCheckFailedError

    from assets.partitions import ensure_partition
    from assets.progress import printed_to
    from pipelines.definitions import defs
    job = defs.resolve_job_def(job_name)
    run_config = {**QUIET, **({"ops": op_config} if op_config else {})}
    run_id = str(uuid.uuid4())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dagster's preview/beta notices are not the user's business
        with workspace_instance(ws) as instance:
            if partition is not None:
                partitions = job.partitions_def
                if not isinstance(partitions, DynamicPartitionsDefinition):
                    raise ValueError(f"job {job.name} is not partitioned by month or quarter")
                ensure_partition(instance, partitions, partition)
            try:
                with printed_to(say):
                    result = job.execute_in_process(instance=instance, partition_key=partition,
                                                    run_config=run_config, run_id=run_id, raise_on_error=True)
            except DagsterAssetCheckFailedError:
                raise ChecksFailed(failed_checks(instance, run_id)) from None
            outcome = RunOutcome(run_id)
            for event in result.get_asset_materialization_events():
                mat = event.step_materialization_data.materialization
                outcome.metadata[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
            return outcome


def failed_checks(instance, run_id: str) -> list[str]:
    """Every problem the failed checks of a run reported, '<check>: <problem>'."""
    from dagster import DagsterEventType
    problems: list[str] = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.passed or evaluation.severity.value != "ERROR":  # a warning does not block
            continue
        meta = {k: v.value for k, v in evaluation.metadata.items()}
        found = meta.get("problems") or [f"{f['expectation']}: {f['message']}" for f in meta.get("failures") or []
                                         if f.get("severity") == "critical"] or ["failed"]
        problems += [f"{evaluation.check_name}: {p}" for p in found]
    return problems
