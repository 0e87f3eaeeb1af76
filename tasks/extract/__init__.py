"""Extraction, pure: raw bytes in, a cleaned and fingerprinted article out.

No files, no network, no database, no Prefect: `prepare.prepare` is the one
decode -> clean -> metadata -> fingerprint path, used by ingest, reprocess and
`newsdesk extract` alike.
"""
