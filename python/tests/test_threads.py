"""The GIL is released while a run computes: threads share one session, runs overlap, and a run
can be stopped from another thread."""

import threading
import time

import numpy as np
import pytest

import tessera
from conftest import matmul_chain_model


@pytest.fixture(scope="module")
def chain():
    model, weights = matmul_chain_model()
    options = tessera.SessionOptions()
    options.intra_op_num_threads = 1  # each run on one thread: the overlap comes from Python's threads
    return tessera.InferenceSession(model.SerializeToString(), sess_options=options), weights


def test_eight_threads_match_sequential_runs_and_overlap(chain):
    session, weights = chain
    rng = np.random.default_rng(1)
    feeds = [rng.standard_normal((128, 256)).astype(np.float32) for _ in range(8)]
    sequential = [session.run(None, {"x": x})[0] for x in feeds]
    reference = feeds[0]
    for w in weights:
        reference = reference @ w
    np.testing.assert_allclose(sequential[0], reference, rtol=1e-3, atol=1e-4)

    results, spans = [None] * 8, [None] * 8
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        start = time.perf_counter()
        results[i] = [session.run(None, {"x": feeds[i]})[0] for _ in range(6)]
        spans[i] = time.perf_counter() - start

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    wall_start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall_start
    for i in range(8):
        for got in results[i]:
            np.testing.assert_array_equal(got, sequential[i])
    # Holding the GIL through a run would serialize them: the threads' time in run would add up
    # to at most the wall time. Released, they are in run together (on any number of cores).
    assert sum(spans) > 1.5 * wall, f"threads spent {sum(spans):.3f} s in run over {wall:.3f} s of wall time"


def test_terminate_before_the_run(chain):
    session, _ = chain
    options = tessera.RunOptions()
    options.terminate = True
    with pytest.raises(tessera.Cancelled, match="stopped|cancel|terminat"):
        session.run(None, {"x": np.ones((8, 256), np.float32)}, options)
    options.terminate = False
    (y,) = session.run(None, {"x": np.ones((8, 256), np.float32)}, options)
    assert y.shape == (8, 256)


def test_terminate_from_another_thread(chain):
    session, _ = chain
    options = tessera.RunOptions()
    x = np.ones((256, 256), np.float32)
    setter = threading.Timer(0.05, lambda: setattr(options, "terminate", True))
    setter.start()
    started = time.perf_counter()
    with pytest.raises(tessera.Cancelled):
        for _ in range(10_000):  # runs until the flag stops one
            session.run(None, {"x": x}, options)
    setter.join()
    assert time.perf_counter() - started < 30


def test_timeout(chain):
    session, _ = chain
    options = tessera.RunOptions()
    options.timeout_ms = 1
    with pytest.raises(tessera.DeadlineExceeded, match="node"):
        session.run(None, {"x": np.ones((512, 256), np.float32)}, options)
