"""What a step says while it runs: to the Dagster log and, when the command line started
the run in process, to the terminal as it happens (finance watches a long run there;
Dagster's own console logger is silenced for them)."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

# A plain module global, not a ContextVar: Dagster may run a step's code in a thread of
# its own, which a ContextVar would not reach. One command line = one process = one run.
_sinks: list[Callable[[str, str], None]] = []
STEP, DETAIL, WARNING = "step", "detail", "warning"


def report(context, message: str, *, detail: bool = False) -> None:
    """`detail`: a line under the step's heading (one inbox file, one stage of issuing)."""
    context.log.info(message)
    for sink in _sinks:
        sink(message, DETAIL if detail else STEP)


def warn(message: str) -> None:
    """Something the person running the command must know now (e.g. the run waits for
    the warehouse another run holds): to the Dagster log and the terminal's stderr."""
    from dagster import get_dagster_logger
    get_dagster_logger().warning(message)
    for sink in _sinks:
        sink(message, WARNING)


@contextmanager
def printed_to(sink: Callable[[str, str], None]):
    """Steps run in this block also hand every progress line to `sink`."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)
