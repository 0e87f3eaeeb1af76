"""The steps of an ingest: discover, acquire, clean, fingerprint, load.

Every module here but `steps` is free of Prefect; `load` and `runs` are the only
ones that touch the database. `steps` wraps them as Prefect tasks.
"""
