"""Progress of a run: a bar on a terminal (done/total, rate, ETA), plain log lines otherwise.

The flow reports through ``current()``; whoever starts the run (the CLI) chooses how it is shown
with ``use(...)``. Without a choice the flow logs a line every tenth of the work.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Counts documents done out of a total; subclasses decide how a state is shown."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.label = ""
        self.started = time.monotonic()

    def start(self, total: int, label: str = "documents") -> None:
        self.total, self.done, self.label = total, 0, label
        self.started = time.monotonic()
        self.show(final=False)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.show(final=False)

    def finish(self) -> None:
        self.show(final=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else None
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (f"{self.done}/{self.total} {self.label} ({pct:.0f}%), {rate:.1f}/s, "
                f"elapsed {_duration(elapsed)}, ETA {_duration(eta) if eta is not None else '?'}")

    def show(self, final: bool) -> None:  # pragma: no cover - overridden
        pass


class BarProgress(Progress):
    """One redrawn line on a terminal: ``[#####.....] 500/1000 documents, 42.0/s, ETA 0:12``."""

    WIDTH = 30

    def __init__(self, stream: TextIO):
        super().__init__()
        self.stream = stream
        self._last = 0.0

    def show(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        filled = int(self.WIDTH * self.done / self.total) if self.total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {self.line()}\033[K" + ("\n" if final else ""))
        self.stream.flush()


class LineProgress(Progress):
    """Plain lines for logs and pipes: at the start, every tenth of the work, and at the end."""

    def __init__(self, emit: Callable[[str], None], every_seconds: float = 30.0):
        super().__init__()
        self.emit = emit
        self.every_seconds = every_seconds
        self._step = -1
        self._last = 0.0

    def show(self, final: bool) -> None:
        step = 10 * self.done // self.total if self.total else 10
        now = time.monotonic()
        if final or step > self._step or now - self._last >= self.every_seconds:
            self._step, self._last = step, now
            self.emit(("done: " if final else "progress: ") + self.line())


class ArtifactProgress(Progress):
    """Another progress shown as it is, and also as a Prefect progress artifact of the flow run
    (``key``), updated as batches finish: a deployment's run shows how far it is in the UI."""

    def __init__(self, shown: Progress, key: str = "build-progress"):
        super().__init__()
        self.shown = shown
        self.key = key
        self._artifact = None
        self._percent = -1

    def start(self, total: int, label: str = "documents") -> None:
        self.shown.start(total, label)
        super().start(total, label)

    def advance(self, n: int = 1) -> None:
        self.shown.advance(n)
        super().advance(n)

    def finish(self) -> None:
        self.shown.finish()
        super().finish()

    def show(self, final: bool) -> None:
        percent = 100 if final or not self.total else min(100, 100 * self.done // self.total)
        if percent == self._percent:
            return
        self._percent = percent
        try:
            from prefect.artifacts import create_progress_artifact, update_progress_artifact

            description = f"{self.done}/{self.total} {self.label} processed"
            if self._artifact is None:
                self._artifact = create_progress_artifact(percent, key=self.key, description=description)
            else:
                update_progress_artifact(self._artifact, percent, description=description)
        except Exception as exc:  # noqa: BLE001 (the UI's progress: never the run's failure)
            import logging

            logging.getLogger(__name__).debug("progress artifact not updated: %s", exc)


def for_stream(stream: TextIO) -> Progress:
    """A bar when ``stream`` is a terminal, plain lines otherwise."""
    if getattr(stream, "isatty", lambda: False)():
        return BarProgress(stream)
    return LineProgress(lambda msg: print(msg, file=stream, flush=True))


_current: Progress | None = None


def current(default: Callable[[], Progress]) -> Progress:
    return _current if _current is not None else default()


@contextmanager
def use(progress: Progress) -> Iterator[Progress]:
    global _current
    previous, _current = _current, progress
    try:
        yield progress
    finally:
        _current = previous

