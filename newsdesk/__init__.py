"""newsdesk: news articles from files and the web to clean, deduplicated rows in PostgreSQL."""

__version__ = "0.1.0"
