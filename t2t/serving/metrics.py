"""The server's counters, rendered as Prometheus text (`GET /metrics`)."""

from __future__ import annotations

import collections
import os
import threading
from typing import Any


def resident_memory_bytes() -> int:
    """This process's resident set size (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Metrics:
    """Requests by path and status, their latency, and the decode batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: collections.Counter = collections.Counter()  # (path, status) -> n
        self.request_seconds = 0.0
        self.decode_seconds = 0.0
        self.batch_sizes: collections.Counter = collections.Counter()

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        """Counts one answered request."""
        if not path.startswith("/v1/"):
            path = path if path in ("/health", "/metrics") else "other"
        with self._lock:
            self.requests[path, status] += 1
            self.request_seconds += seconds

    def observe_batch(self, size: int, seconds: float) -> None:
        """Counts one decode call of `size` inputs (from the worker thread)."""
        with self._lock:
            self.batch_sizes[size] += 1
            self.decode_seconds += seconds

    def render(self, batcher: Any) -> str:
        """The Prometheus text exposition format."""
        with self._lock:
            requests = dict(self.requests)
            request_seconds, decode_seconds = self.request_seconds, self.decode_seconds
        lines = [
            "# HELP t2t_requests_total HTTP requests answered, by path and status.",
            "# TYPE t2t_requests_total counter",
        ]
        for (path, status), n in sorted(requests.items()):
            lines.append(f't2t_requests_total{{path="{path}",code="{status}"}} {n}')
        rows = [
            ("t2t_request_seconds_total", "counter", "Time spent answering requests.",
             request_seconds),
            ("t2t_decode_batches_total", "counter", "Decode calls (batches).", batcher.batches),
            ("t2t_decoded_inputs_total", "counter", "Inputs decoded.", batcher.items),
            ("t2t_decode_seconds_total", "counter", "Time spent decoding.", decode_seconds),
            ("t2t_largest_batch", "gauge", "Most inputs in one decode call.",
             batcher.largest_batch),
            ("t2t_queued_requests", "gauge", "Requests waiting for a batch.", batcher.queued),
            ("process_resident_memory_bytes", "gauge", "Resident memory.",
             resident_memory_bytes()),
        ]  # fmt: skip
        for name, kind, help_text, value in rows:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(lines) + "\n"
