"""Benchmark: one control-parameter sweep (``numeric.sweep.sweep``) run serially and on every core, in the
same run, with identical results asserted.

    python benchmarks/sweep.py [--values 20] [--seeds 4] [--steps 2000] [--workers N] [--dask]

``--dask`` also runs it on a dask.distributed LocalCluster (N worker processes, one thread each) through
``executor=client.get_executor()`` (cluster start-up not timed), to show what Dask's scheduling costs per task.

The learner is ``numeric.models.learners.two_layer`` swept over weight decay (the pitchfork of
``derive.theories.phase``): values × seeds independent, seeded tasks. Prints both wall times, the speed-up
and the parallel efficiency (speed-up / workers). Not a test: numbers depend on the machine and on
what else runs on it; BLAS threads are pinned to 1 so that processes, not threads, share the cores.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from numeric.models import learners
from numeric import sweep  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dask", action="store_true", help="also on a dask.distributed LocalCluster")
    a = ap.parse_args()
    learner = functools.partial(learners.two_layer, control="weight_decay", lr=1.0, steps=a.steps)
    values = np.linspace(0.05, 0.6, a.values)
    serial = sweep.sweep(learner, values, a.seeds, workers=1)
    parallel = sweep.sweep(learner, values, a.seeds, workers=a.workers)
    for k in serial.orders:
        np.testing.assert_array_equal(serial.orders[k], parallel.orders[k])
    tasks = a.values * a.seeds
    speedup = serial.seconds / parallel.seconds
    print(f"{tasks} tasks ({a.values} weight decays x {a.seeds} seeds, {a.steps} steps each), results identical")
    print(f"  serial (1 process):      {serial.seconds:7.2f} s")
    print(f"  parallel ({parallel.workers} processes):  {parallel.seconds:7.2f} s")
    print(f"  speed-up {speedup:.2f}x, efficiency {speedup / parallel.workers:.0%} on {os.cpu_count()} cores")
    if a.dask:
        import logging

        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            on_dask = sweep.sweep(learner, values, a.seeds, executor=client.get_executor())
        for k in serial.orders:
            np.testing.assert_array_equal(serial.orders[k], on_dask.orders[k])
        print(f"  dask LocalCluster ({a.workers} worker processes): {on_dask.seconds:7.2f} s, speed-up "
              f"{serial.seconds / on_dask.seconds:.2f}x, results identical")


if __name__ == "__main__":
    main()
