"""Files: each run writes the full audience and its change set as CSV or Parquet.

`<path>/<audience>/full/<audience>-<UTC stamp>-<run>.<ext>` holds every current member;
`<path>/<audience>/changes/...` holds the rows sent this run with an `operation` column (add, change,
remove). Both are written by DuckDB (set-based), to a temporary name first and then renamed, so a reader
never sees half a file and a crashed run leaves nothing behind but a stray temporary.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from reverse_etl.destinations.base import DeliverySettings, Destination


class FilesSettings(DeliverySettings):
    path: str
    format: Literal["csv", "parquet"] = "parquet"


class FilesDestination(Destination):
    type_name: ClassVar[str] = "files"
    Settings: ClassVar[type[DeliverySettings]] = FilesSettings
    bulk: ClassVar[bool] = True
    settings: FilesSettings

    def _copy(self, con: Any, query: str, target: Path, params: dict[str, Any]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        options = "(format csv, header true)" if self.settings.format == "csv" else "(format parquet)"
        con.execute(f"copy ({query}) to '{temporary.as_posix()}' {options}", params)
        os.replace(temporary, target)

    def export(
        self, con: Any, changes_table: str, *, source: Any, operations: tuple[str, ...], run_id: str
    ) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{source.audience}-{stamp}-{run_id[:8]}.{self.settings.format}"
        folder = Path(self.settings.path).expanduser() / source.audience
        # Payloads are JSON; one merged structure turns them back into typed columns. Removes carry the
        # last delivered payload, so they count too: an audience that emptied still has its columns.
        (structure,) = con.execute(
            f"""
            select json_group_structure(payload) from (
                select payload from ({source.rows_sql()})
                union all
                select payload from {changes_table} where list_contains($operations, operation)
            )
            """,
            {"operations": list(operations)},
        ).fetchone()
        # No payload at all (nothing in the audience, nothing sent): the files hold only the keys.
        # (`from_json(payload, '{}')` is a binder error, hence no unnest of an empty structure.)
        columns = f", unnest(from_json(payload, '{structure}'))" if structure not in (None, "{}") else ""
        full = f"select record_key{columns} from ({source.rows_sql()}) order by record_key"
        self._copy(con, full, folder / "full" / name, {})
        changes = (
            f"select operation, record_key{columns} "
            f"from {changes_table} where list_contains($operations, operation) order by seq"
        )
        self._copy(con, changes, folder / "changes" / name, {"operations": list(operations)})
