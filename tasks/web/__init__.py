"""The web side: fetching politely through one crawl frontier per run.

`frontier` runs a run's requests; `fetch` is the client, politeness and
robots.txt; `addresses` keeps listed URLs out of the private network;
`decompress` bounds what a body may grow to; `listings` reads feeds and
sitemaps (pure); `crawl` reads a source's listings; `pages` prepares fetched
pages in a pool of processes.
"""
