"""The request I/O pool: results in order, errors after every call has finished, the caller's context kept."""

import threading
import time

import pytest

from core import concurrency, observability


def test_gather_returns_results_in_the_order_of_the_calls():
    assert concurrency.gather(lambda: 1, lambda: 2, lambda: 3) == [1, 2, 3]


def test_gather_runs_the_calls_at_once():
    barrier = threading.Barrier(3, timeout=5)  # broken, and the test failed, unless all three meet
    assert concurrency.gather(barrier.wait, barrier.wait, barrier.wait) is not None


def test_gather_raises_the_first_error_in_order_only_once_every_call_has_finished():
    finished = threading.Event()

    def slow_then_fail() -> None:
        time.sleep(0.05)
        finished.set()
        raise KeyError("second")

    def fail() -> None:
        raise ValueError("first")

    with pytest.raises(ValueError, match="first"):
        concurrency.gather(fail, slow_then_fail)
    assert finished.is_set()


def test_a_task_writes_to_the_callers_request_record():
    with observability.request_record() as record:
        concurrency.submit(observability.record, verdict_source="cache").result()
        with observability.stage("outer"):
            concurrency.gather(lambda: None, lambda: observability.record(from_pool=True))
    assert record["verdict_source"] == "cache"
    assert record["from_pool"] is True


def request_io_threads() -> set[int | None]:
    return {thread.ident for thread in threading.enumerate() if thread.name.startswith("request-io")}


def test_a_fresh_pool_started_ahead_runs_a_requests_calls_at_once_without_starting_a_thread():
    concurrency.pool_reset()  # as before a snapshot: no thread yet
    assert request_io_threads() == set()
    concurrency.pool_start()  # as after the restore
    started = request_io_threads()
    assert len(started) == concurrency.REQUEST_TASKS

    barrier = threading.Barrier(concurrency.REQUEST_TASKS + 1, timeout=5)  # the caller's call and the pool's
    concurrency.gather(*[barrier.wait] * (concurrency.REQUEST_TASKS + 1))
    assert request_io_threads() == started
