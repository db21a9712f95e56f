"""The Segment-compatible HTTP collector: SDKs send events, durable landing files come out.

It never opens the warehouse (DuckDB allows one writer process); the `raw_events` asset loads what it
lands, and the `new_landing_files` sensor notices the files it seals.
"""
