"""Failures said in one line: what went wrong, in the words of the part that failed.

Deep failures reach the command line wrapped several times (a DuckDB error inside a Dagster step error, a
dbt compiler error inside a subprocess error). These functions dig out the one sentence a person needs, and
make any exception chain safe to walk: Dagster re-raises a step's own exception while handling the wrapper
whose cause it is, so `__cause__` and `__context__` loop, and a printer without a seen-set never ends.
"""

from __future__ import annotations

import re
import traceback

# DuckDB: Could not set lock on file "<path>": Conflicting lock is held in <program> (PID <n>) [by user <u>].
_LOCK = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in (?P<program>.+?) '
    r"\(PID (?P<pid>\d+)\)"
)
# What dbt adds around the one sentence that matters.
_DBT_NOISE = re.compile(r"^(Encountered an error:?|Errors parsed from dbt logs:|>.*)$")
_DBT_HEADER = re.compile(r"^(Compilation|Parsing|Runtime|Database) Error( in .+)?$")
MAX_LINE = 600


class CdpError(Exception):
    """A failure whose message is already the one line to show a person."""


def lock_message(text: str) -> str | None:
    """The warehouse lock conflict in DuckDB's `text`, said plainly, or None when it is not one."""
    found = _LOCK.search(text)
    if found is None:
        return None
    return (
        f"the warehouse is locked by another process (PID {found['pid']}, {found['program']}): "
        f"DuckDB lets one process write {found['path']}, or several read it, at a time; try again when "
        "that process is done"
    )


def dbt_message(text: str) -> str:
    """dbt's error text (the event messages, or dagster-dbt's wrapper around them) as one line: the
    sentence first, then where dbt found it, without the macro call stack."""
    _, marker, after = text.partition("Errors parsed from dbt logs:")
    lines = [line.strip() for line in (after if marker else text).splitlines()]
    lines = [line for line in lines if line and not _DBT_NOISE.match(line)]
    headers = [line for line in lines if _DBT_HEADER.match(line)]
    details = [line for line in lines if not _DBT_HEADER.match(line)]
    if not details:
        return shorten(" ".join(headers) or text)
    where = f" ({headers[0]})" if headers else ""
    return shorten(" ".join(details) + where)


def shorten(text: str, limit: int = MAX_LINE) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def one_line(error: BaseException) -> str:
    """What a person should read about `error`: one line, whatever the exception type."""
    found = _lock_in_chain(error)
    if found:
        return found
    if isinstance(error, CdpError):
        return shorten(str(error))
    text = str(error).strip()
    return shorten(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def explains_itself(error: BaseException) -> bool:
    """True when `one_line` says all there is to say (a traceback would only repeat it)."""
    return isinstance(error, CdpError) or _lock_in_chain(error) is not None


def _lock_in_chain(error: BaseException) -> str | None:
    return next(filter(None, (lock_message(str(link)) for link in chain(error))), None)


def chain(error: BaseException) -> list[BaseException]:
    """`error` and every exception it was caused by or raised while handling, each once."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        link = pending.pop()
        if link is None or any(link is seen for seen in found):
            continue
        found.append(link)
        pending += [link.__context__, link.__cause__]
    return found


def break_cycles(error: BaseException) -> BaseException:
    """Cut every `__cause__`/`__context__` link that points back to an exception it came from, so any
    printer terminates (the standard library's keeps a seen-set; rich's does not)."""
    on_path: set[int] = set()
    done: set[int] = set()

    def visit(link: BaseException) -> None:
        on_path.add(id(link))
        for attribute in ("__cause__", "__context__"):
            target = getattr(link, attribute)
            if target is None or id(target) in done:
                continue
            if id(target) in on_path:
                setattr(link, attribute, None)
            else:
                visit(target)
        on_path.discard(id(link))
        done.add(id(link))

    visit(error)
    return error


def format_traceback(error: BaseException) -> str:
    """The full traceback, chain included, in bounded time and size whatever the chain looks like."""
    return "".join(traceback.format_exception(break_cycles(error)))
