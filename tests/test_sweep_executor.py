"""numeric.sweep on a caller's concurrent.futures.Executor (a thread pool, a real dask.distributed LocalCluster) and
``ldyn sweep --scheduler``: results bit for bit equal to the serial run whatever order the tasks finish in, the
executor never shut down, bad scheduler addresses refused on one line within seconds."""
import argparse
import functools
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from numeric import sweep
from numeric.models import learners
from verify import sweeps

LS = functools.partial(learners.least_squares, control="lr", steps=60)
VALUES = np.linspace(1.5, 2.5, 5)

#: (value, seed) in the order the tasks finished, for the out-of-order test
FINISHED = []


def slow_first(value, seed):
    """Earlier tasks sleep longer, so that on a pool they finish last."""
    time.sleep(0.02 * (3.0 - value) + 0.005 * (2 - seed))
    FINISHED.append((value, seed))
    return {"y": value * 10.0 + seed, "z": 1.0 / (1.0 + value + seed)}


def boom_at_two(value, seed):
    if value == 2.0:
        raise RuntimeError("boom")
    time.sleep(0.01)
    return {"y": value}


def assert_identical(a, b):
    assert list(a.orders) == list(b.orders)
    for k in a.orders:
        assert a.orders[k].tobytes() == b.orders[k].tobytes(), k  # bit for bit, NaN and -0.0 included


def still_works(executor):
    return executor.submit(pow, 3, 4).result(timeout=30) == 81


def test_thread_pool_gives_the_serial_result_in_any_completion_order_and_stays_open():
    serial = sweep.sweep(slow_first, [1.0, 2.0, 3.0], seeds=3, workers=1)
    FINISHED.clear()
    with ThreadPoolExecutor(max_workers=4) as ex:
        sw = sweep.sweep(slow_first, [1.0, 2.0, 3.0], seeds=3, executor=ex)
        assert still_works(ex)
        lam = sweep.sweep(lambda v, s: {"x": v - s}, [0.0, 1.0], seeds=2, executor=ex)  # threads need no pickling
    assert FINISHED != sorted(FINISHED)  # the tasks really finished out of order
    assert_identical(serial, sw)
    assert (sw.workers, sw.executor, sw.to_json()["executor"]) == (0, "ThreadPoolExecutor", "ThreadPoolExecutor")
    assert lam.orders["x"].tolist() == [[0.0, -1.0], [1.0, 0.0]]
    assert "executor" not in serial.to_json()


def test_a_failing_task_or_ctrl_c_cancels_the_pending_tasks_but_not_the_executor():
    calls = []

    def counted(value, seed):
        calls.append(value)
        return boom_at_two(value, seed)

    with ThreadPoolExecutor(max_workers=1) as ex:
        with pytest.raises(RuntimeError, match="boom"):
            sweep.sweep(counted, np.arange(1.0, 41.0), seeds=1, executor=ex)
        assert still_works(ex)
        ran = len(calls)
        assert ran < 40  # the tasks after the failure were cancelled, not run
        seen = []

        def ctrl_c(done, total):
            seen.append(done)
            if done == 2:
                raise KeyboardInterrupt

        calls.clear()
        with pytest.raises(KeyboardInterrupt):
            sweep.sweep(counted, np.arange(3.0, 43.0), seeds=1, executor=ex, progress=ctrl_c)
        assert still_works(ex) and len(calls) < 40 and seen == [0, 1, 2]


class NotAFuture:
    def submit(self, fn, *args):
        return fn(*args)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"workers": 2, "executor": ThreadPoolExecutor(1)}, ValueError, "workers or executor, not both"),
    ({"workers": 1, "executor": ThreadPoolExecutor(1)}, ValueError, "workers or executor, not both"),
    ({"executor": object()}, TypeError, "concurrent.futures.Executor"),
    ({"executor": NotAFuture()}, TypeError, "must return a concurrent.futures.Future"),
])
def test_bad_executor_arguments_raise_with_a_message(kwargs, error, message):
    with pytest.raises(error, match=message):
        sweep.sweep(slow_first, [1.0, 2.0], seeds=1, **kwargs)
    with pytest.raises(error, match=message):
        sweep.locate(lambda v, s: v > 1.5, 1.0, 2.0, seeds=1, **kwargs)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as lc:
        yield lc


def test_a_sweep_on_a_dask_local_cluster_equals_the_serial_run_and_leaves_the_client_open(cluster):
    from distributed import Client

    serial = sweep.sweep(LS, VALUES, seeds=3, workers=1)
    with Client(cluster, set_as_default=False) as client:
        ex = client.get_executor()
        sw = sweep.sweep(LS, VALUES, seeds=3, executor=ex)
        assert still_works(ex)
        pred = functools.partial(sweeps.flag, learner=LS, name="diverged")
        tr_dask = sweep.locate(pred, 1.0, 3.0, seeds=[0, 1], rtol=1e-3, executor=ex)
        assert len(client.nthreads()) == 2  # really two worker processes
    assert_identical(serial, sw)
    assert sw.executor == "ClientExecutor"
    tr = sweep.locate(pred, 1.0, 3.0, seeds=[0, 1], rtol=1e-3, workers=1)
    assert tr_dask.per_seed.tobytes() == tr.per_seed.tobytes()


def test_ldyn_sweep_scheduler_runs_on_the_cluster_and_refuses_workers_too(cluster, capsys):
    from verify import cli

    assert cli.main(["sweep", "least-squares", "lr", "1.5:2.5", "--num", "5", "--seeds", "2", "--set", "steps=60",
                     "--scheduler", cluster.scheduler_address]) == 0
    out = capsys.readouterr().out
    assert f"on the Dask cluster at {cluster.scheduler_address}" in out
    args = argparse.Namespace(learner="least-squares", control="lr", values="1.5:2.5", num=5, log=False, seeds=2,
                              workers="auto", set=["steps=60"], out=None, json=False,
                              scheduler=cluster.scheduler_address)
    serial = sweeps.run("least-squares", "lr", np.linspace(1.5, 2.5, 5), 2, {"steps": 60}, workers=1)
    with sweeps.executor_for(cluster.scheduler_address) as ex:
        rep = sweeps.run("least-squares", "lr", np.linspace(1.5, 2.5, 5), 2, {"steps": 60}, executor=ex)
        client = ex._client
    assert client.status == "closed" and cluster.status.name == "running"  # our client closed, the cluster not
    assert_identical(serial["_sweep"], rep["_sweep"])
    assert rep["transition"] == serial["transition"]
    args.workers = "2"
    with pytest.raises(ValueError, match="--workers or --scheduler, not both"):
        sweeps.main(args)


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def servers():
    """A TCP server that answers garbage, and one that accepts and never answers."""
    garbage, silent = socket.socket(), socket.socket()
    conns = []
    for s in (garbage, silent):
        s.bind(("127.0.0.1", 0))
        s.listen(8)

    def serve():
        while True:
            try:
                c, _ = garbage.accept()
            except OSError:
                return
            conns.append(c)
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"\xff" * 64)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{garbage.getsockname()[1]}", f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    for s in [garbage, silent, *conns]:
        s.close()


def test_bad_scheduler_addresses_are_one_line_value_errors_within_seconds(servers):
    garbage, silent = servers
    cases = [(f"tcp://127.0.0.1:{_closed_port()}", "cannot connect"), (f"127.0.0.1:{_closed_port()}", "cannot connect"),
             ("nonsense", "missing port"), ("foo://bar:1", "unknown address scheme"), ("", "give the Dask"),
             ("a b:1", "not an address"), ("x" * 600, "not an address"), ("tcp://no-such-host.invalid:8786", "cannot"),
             (garbage, "cannot talk to a Dask scheduler"), (silent, "no Dask scheduler answered within 1 s")]
    for address, message in cases:
        start = time.perf_counter()
        with pytest.raises(ValueError, match=message) as err:
            with sweeps.executor_for(address, timeout=1.0):
                pytest.fail("connected")
        assert "\n" not in str(err.value) and time.perf_counter() - start < 4, address


def test_a_scheduler_without_workers_is_refused():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0", silence_logs=logging.ERROR) as lc:
        with pytest.raises(ValueError, match="no workers"):
            with sweeps.executor_for(lc.scheduler_address, timeout=0.5):
                pytest.fail("connected")

