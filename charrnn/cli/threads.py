"""How many threads the BLAS library behind NumPy may use for the matrix products.

By default OpenBLAS starts one thread per core and every product is split across all of them.
On an idle machine that is the fastest choice here (two threads beat one by 1.3-1.6x on every
benchmark configuration). When another process keeps a core busy, each split product waits for
its slowest thread, which now shares a core: training then runs at half the speed it reaches
with one thread (see the README's benchmarks). `charrnn ... --threads 1` is for that case.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def blas_threads(n: int | None):
    """Within the block, let BLAS use at most n threads; None leaves its setting alone (all
    cores, or what $OPENBLAS_NUM_THREADS / $OMP_NUM_THREADS asked for)."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits  # imported here: `charrnn --help` stays fast

    with threadpool_limits(limits=n, user_api="blas"):
        yield
