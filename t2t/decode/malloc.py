"""Process-wide malloc settings that make CPU decoding faster on glibc (Linux).

A decoding step allocates and frees the same large buffers again and again: the logits
(16 MB for 128 rows of a 32k vocabulary), the key/value caches (8 MB each at
transformer_base), the feed-forward activations. glibc hands blocks above its "mmap
threshold" straight back to the kernel when they are freed, and shrinks the heap whenever
more than its "trim threshold" is free at the top, so the next step's buffer arrives as
fresh pages that the kernel must fault in and zero: ~150,000 page faults and ~0.35 s of a
4-second transformer_base beam-search batch on our 2-core VM (benchmarks/README.md).
Raising both thresholds keeps freed memory in the process for reuse: 0 faults after the
first batch, same results.

This changes the whole process (peak memory stays allocated instead of going back to the
kernel), so the library never does it on its own: `t2t-decoder` and `t2t-translate-all`
call `keep_freed_memory()` at start, and applications may call it too. It does nothing
where the C library is not glibc, or when the settings were given through the environment
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``), which glibc reads at start-up.
"""

from __future__ import annotations

import ctypes
import os
import platform

# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's largest allowed mmap threshold on 64-bit systems (larger values are refused).
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024

_done = False


def keep_freed_memory() -> bool:
    """Sets glibc's mmap and trim thresholds so freed buffers are reused, once per process.

    Returns:
        True if the settings are in effect (set now or before), False where they do not
        apply (not glibc, or mallopt refused them).
    """
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False  # the user chose; glibc has applied those at start-up
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Both, in this order: setting either turns off glibc's dynamic threshold adjustment.
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
