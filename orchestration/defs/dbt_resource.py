"""The dbt CLI resource the assets use; its own module so importing the resources costs no dbt-core import."""

from collections.abc import Sequence

from dagster_dbt import DbtCliResource


class CdpDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without the in-process dbt adapter it opens before every command.

    That adapter (10-12 s of imports and project loading on 2 cores, a fifth of a demo run) serves only
    `fetch_row_counts()`/`fetch_column_metadata()`, which cannot query DuckDB while dbt holds it anyway;
    the figures are read after the build instead (assets/dbt_metadata.py).
    """

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None
