"""Prefect flows: the daily ingest (and, later, reprocessing). Nothing else lives here."""
