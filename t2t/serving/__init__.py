"""Model serving: t2t-serve's HTTP API, dynamic batching and backends (the `serve` extra)."""
