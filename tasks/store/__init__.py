"""Everything that reads or writes PostgreSQL, behind one boundary.

`load` writes a batch in one transaction under the `lock`, with `rows` (COPY
columns), `versions`, `placement` (dedup decisions against `dedup_index`),
`story_facts` and `outcomes` (rejections and counts); `runs` is the run
history; `file_state`, `http_cache` and `host_schedule` remember what the
next run needs; `reprocess`, `dedup_rebuild` and `export` work on what is stored.
"""
