"""The chat model's answer read in its own thread (`ReplyFeed`), and its text released as it passes the output
check, paced into a few frames a second (`ReleasedText`)."""

import contextvars
import queue
import threading
import time
from collections.abc import Iterator

from django.conf import settings

from chatapp.clients import ReplyEnd, chat_model
from chatapp.exceptions import ModelUnavailable
from core import observability
from security.services.output import ReplyGate

_END = object()
_WAITING = object()


class ReplyFeed:
    """The chat model's answer, read in its own thread into a queue: a transport never blocks on the model."""

    def __init__(self, turns: list[tuple[str, str]], screened: str, system_prompt: str) -> None:
        model = chat_model()
        # The prompt the model writes under is the one the reply's output check compares the reply with.
        self.model_id, self.system_prompt = model.model_id, system_prompt
        self.end = ReplyEnd()  # written by the model thread only
        # Started before the verdict in parallel screening mode, the text stays here until screening passes.
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = threading.Event()
        run_in_context = contextvars.copy_context().run
        thread = threading.Thread(target=run_in_context, args=(self._pump, turns, screened), daemon=True)
        thread.name = "chat-model-stream"
        thread.start()
        self._thread = thread

    def _pump(self, turns: list[tuple[str, str]], screened: str) -> None:
        try:
            with observability.stage("chat_model"):
                stream = chat_model().stream(
                    system_prompt=self.system_prompt, history=turns, message=screened, end=self.end
                )
                try:
                    for piece in stream:
                        if self._closed.is_set():  # the `with` block was left: the stream closes at its next chunk
                            return
                        self._queue.put(piece)
                finally:
                    stream.close()  # type: ignore[attr-defined]
            self._queue.put(_END)
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which raises it
            self._queue.put(exc)

    def next(self, *, timeout: float | None) -> object:
        """Return the next piece of text, _END, or _WAITING after `timeout` seconds; raise the model's error."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return _WAITING
        if isinstance(item, BaseException):
            raise item
        return item

    def finished(self, *, timeout: float) -> bool:
        """Wait up to `timeout` for the model stream to end; return True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        self._closed.set()

    def discard(self) -> None:
        """Close an answer screening refused, and count the tokens it cost; its text is never read."""
        self.close()
        # Closed before the model reported its usage (its last event), the answer's cost is unknown: cancelled.
        if not self.finished(timeout=settings.SPECULATION_DISCARD_WAIT_SECONDS) or not self.end.usage:
            observability.record(speculative_reply="cancelled")
            return
        observability.record(speculative_reply="discarded")
        observability.add_usage("discarded", self.end.usage)

    def __enter__(self) -> "ReplyFeed":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ReleasedText:
    """The reply's text as it passes the output check: the first at once, then frames STREAM_FRAME_SECONDS apart."""

    def __init__(self, feed: ReplyFeed, gate: ReplyGate, deadline: float | None) -> None:
        self._feed, self._gate, self._deadline = feed, gate, deadline
        self._time_limit = False

    @property
    def stop_reason(self) -> str:
        """Return `time_limit` when `deadline` (time.monotonic()) cut the reply, else the model's, once iterated."""
        return "time_limit" if self._time_limit else self._feed.end.stop_reason

    def __iter__(self) -> Iterator[str]:
        interval = settings.STREAM_FRAME_SECONDS  # fewer, larger frames: each is one Management API call
        last_frame: float | None = None
        checked = 0  # how much text the last release looked at: a held tail alone never wakes the loop again
        while True:
            piece = self._feed.next(timeout=self._wait(last_frame, checked, interval))
            # At the deadline, what was written so far is the whole reply (with nothing written, ModelUnavailable).
            if piece is _END or (piece is _WAITING and self._past_deadline()):
                if rest := self._gate.release(final=True):
                    yield rest
                return
            if piece is not _WAITING:
                self._gate.add(piece)  # type: ignore[arg-type]
            now = time.monotonic()
            if last_frame is None or now - last_frame >= interval:
                checked = self._gate.length
                if released := self._gate.release():
                    last_frame = now
                    observability.record_first_text()
                    yield released

    def _wait(self, last_frame: float | None, checked: int, interval: float) -> float | None:
        """Return how long to wait for the model: until the deadline, or the next frame when held text waits."""
        wake_at = [self._deadline] if self._deadline is not None else []
        if last_frame is not None and self._gate.length > checked:
            wake_at.append(last_frame + interval)
        return max(0.0, min(wake_at) - time.monotonic()) if wake_at else None

    def _past_deadline(self) -> bool:
        """Return True once the deadline has passed with text written; raise ModelUnavailable with none."""
        if self._deadline is None or time.monotonic() < self._deadline:
            return False
        if not self._gate.text.strip():
            raise ModelUnavailable(cause=TimeoutError("no text before the reply deadline"))
        self._time_limit = True
        return True
