"""Keep freed memory for the next window instead of handing it back to the system.

A training step allocates tens of megabytes of window-wide arrays (the input projections, the
gates' gradients, the logits: e.g. ax is T*B*3H floats, 19.6 MB for a GRU 1x512 at B=32) and
frees them at the end of the step. glibc's malloc serves arrays that large with fresh mmap()
pages and returns them on free() (or trims the heap top back to the system), so the next step
touches brand-new pages again, each fault a kernel entry and a zeroed 4 KB page. Raising the two
thresholds below keeps those pages in the process, and the next window reuses them (what that
measured: docs/benchmarks.md, "What the process's memory cost").

The cost is that the process keeps its peak memory until it exits (a training run keeps it
anyway, one window after another). Only the command line calls this: it sets up the process,
as --threads does; the library never changes malloc behind its caller's back. Elsewhere than
glibc (macOS, musl) it does nothing.

    M_TRIM_THRESHOLD (-1): free memory at the heap's top kept before trimming  -> 2 GiB
    M_MMAP_THRESHOLD (-3): smallest request served by its own mmap()           -> 1 GiB
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 1 << 30  # requests below 1 GiB come from the heap, whose pages stay mapped
TRIM_THRESHOLD = 2**31 - 1  # the largest value mallopt's int takes


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to reuse freed pages (module docstring). True when it applied; False
    where the C library is not glibc. Process-wide and not undone: call it once, at start."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, ValueError, AttributeError):  # confstr: no such name here (not glibc)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success (glibc 2.36 here takes 1 GiB: 100 MB arrays are then reused too)
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
