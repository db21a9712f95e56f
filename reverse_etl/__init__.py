"""Reverse ETL: diff each audience against its last delivered snapshot and send only the changes."""
