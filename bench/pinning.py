"""One core and one BLAS thread for a benchmark process: call :func:`pin` before numpy
or jax is imported (this module imports neither)."""

from __future__ import annotations

import os


def pin() -> int:
    """Pin this process to one core (core 1 when it may run there, else its last allowed
    one; the environment variable BENCH_CORE chooses) and set BLAS (and XLA) to one
    thread.  Returns the core."""
    allowed = sorted(os.sched_getaffinity(0))
    core = int(os.environ.get("BENCH_CORE", 1 if 1 in allowed else allowed[-1]))
    os.sched_setaffinity(0, {core})
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return core
