"""Targets a benchmark holds itself to: each is printed met or MISSED with measured against target, and the
script exits 1 when any is missed, so a regression fails a CI step or a shell `&&` instead of scrolling by.

Checks that both sides of a comparison did the same work (same rows loaded, same partition, same change
set) are targets too: a ratio between runs that processed different data means nothing.

    checks = Targets()
    checks.at_least("loader speed / bare speed (wall)", ratio, 0.8, "{:.0%}")
    checks.same("rows loaded: bare vs loader", bare_rows, our_rows)
    checks.finish()
"""

from __future__ import annotations

import sys
from typing import NoReturn


class Targets:
    def __init__(self) -> None:
        self.missed: list[str] = []
        self.met: list[str] = []

    def _record(self, ok: bool, line: str) -> bool:
        (self.met if ok else self.missed).append(line)
        print(f"target {'met' if ok else 'MISSED'}: {line}", flush=True)
        return ok

    def at_most(self, name: str, measured: float, target: float, fmt: str = "{:.2f}") -> bool:
        return self._record(
            measured <= target, f"{name}: measured {fmt.format(measured)}, target <= {fmt.format(target)}"
        )

    def at_least(self, name: str, measured: float, target: float, fmt: str = "{:.2f}") -> bool:
        return self._record(
            measured >= target, f"{name}: measured {fmt.format(measured)}, target >= {fmt.format(target)}"
        )

    def below(self, name: str, measured: float, target: float, fmt: str = "{:.2f}") -> bool:
        return self._record(
            measured < target, f"{name}: measured {fmt.format(measured)}, target < {fmt.format(target)}"
        )

    def same(self, name: str, left: object, right: object) -> bool:
        """Both sides of a comparison processed the same rows (or produced the same result)."""
        return self._record(left == right, f"{name}: {left!r} vs {right!r}, target equal")

    def finish(self) -> NoReturn:
        total = len(self.met) + len(self.missed)
        if self.missed:
            print(f"{len(self.missed)} of {total} target(s) MISSED:", file=sys.stderr)
            for line in self.missed:
                print(f"  {line}", file=sys.stderr)
            sys.exit(1)
        print(f"all {total} target(s) met")
        sys.exit(0)
