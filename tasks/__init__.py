"""The steps of an ingest, one subpackage per role.

- `extract`: pure, bytes in, article out (decode, clean, metadata, fingerprint;
  `prepare` is the one path through them).
- `dedup`: pure, the near and story signatures and the placement of a batch.
- `web`: HTTP: the crawl frontier, politeness, robots.txt, the address policy,
  feeds and sitemaps.
- `store`: everything that reads or writes PostgreSQL.
- `files.py` reads a files source from disk; `sources.py` reads sources.toml;
  `records.py` holds the plain records passed between steps; `words.py` says counts in words.

Only `steps` imports Prefect: it wraps the roles above as thin Prefect tasks.
"""
