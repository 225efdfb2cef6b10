"""One request's independent AWS calls made at once, in a shared thread pool.

A DynamoDB or Bedrock call spends its time waiting on the network, so calls that do not depend on each
other (the rate-limit counters, the intent cache, the conversation's history) cost one round trip
instead of one each. A task runs in a copy of the caller's context, so its stage timings and usage land
in the caller's request record. Tasks never wait on other tasks, so the pool cannot deadlock however
busy it gets; the most it does under load is queue.
"""

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")

MAX_WORKERS = 16
# The most DynamoDB calls one request makes at once: a chat's rate-limit counter, stored-reply read, history (or
# intent-cache) read, spending reservation and, on the socket, its ticket's session check, while its other counter
# is written in the request's own thread.
REQUEST_TASKS = 5
# Made at import: an executor starts no thread until its first task, so this costs nothing at start-up.
_pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="request-io")


def submit(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    """Start `fn(*args, **kwargs)` in the pool, in a copy of the caller's context."""
    return _pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)


def pool_reset() -> None:
    """Replace the pool with a fresh one and stop the old one's threads (before a SnapStart snapshot)."""
    # Threads started during init belong to the init environment; the new pool starts its own on first use.
    global _pool  # noqa: PLW0603 - the one pool every request shares
    old, _pool = _pool, ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="request-io")
    old.shutdown(wait=True)


def pool_start(threads: int = REQUEST_TASKS) -> None:
    """Start `threads` of the pool's threads now (after a SnapStart restore), so that no request starts one."""
    threads = min(threads, MAX_WORKERS)
    # Each task holds its thread until every task has one, so each submission starts a new thread.
    barrier = threading.Barrier(threads + 1)
    futures = [_pool.submit(barrier.wait, 5) for _ in range(threads)]
    barrier.wait(5)
    settle(futures)


def settle(futures: Iterable[Future[Any]]) -> None:
    """Wait until every future has finished, whatever its outcome: nothing a request starts outlives it."""
    wait(list(futures))


def gather(*calls: Callable[[], T]) -> list[T]:
    """Run `calls` at once (the first in this thread); once all end, return their results or raise the first error."""
    futures = [submit(call) for call in calls[1:]]
    try:
        first = calls[0]()
    finally:
        settle(futures)
    return [first, *(future.result() for future in futures)]
