"""Training progress: a rich bar on a terminal, plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import math
import sys
import time
from typing import Any


def fmt_logs(logs: dict[str, Any], keys: list[str] | None = None) -> str:
    parts = []
    for k in keys or list(logs):
        v = logs.get(k)
        if isinstance(v, float):
            parts.append(f"{k} {v:.4g}" if math.isfinite(v) else f"{k} {v}")
        elif v is not None:
            parts.append(f"{k} {v}")
    return "  ".join(parts)


class Progress:
    """Reports steps and epochs. ``mode``: ``bar`` (rich), ``lines`` or ``quiet``."""

    def __init__(self, mode: str = "auto", stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode = mode
        self._bar: Any = None
        self._task: Any = None
        self._epochs = 0
        self._t0 = 0.0
        self._samples = 0
        self._last_line = 0.0

    def start(self, epochs: int) -> None:
        self._epochs = epochs
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                            console=Console(file=self.stream), transient=False)
            self._bar.start()

    def start_epoch(self, epoch: int, steps: int, done: int = 0) -> None:
        self._t0 = time.perf_counter()
        self._samples = 0
        self._last_line = self._t0
        if self._bar is not None:
            self._task = self._bar.add_task("train", total=steps, completed=done,
                                            epoch=f"{epoch + 1}/{self._epochs}", info="")

    def step(self, step: int, samples: int, logs: dict[str, Any]) -> None:
        self._samples += samples
        now = time.perf_counter()
        rate = self._samples / max(now - self._t0, 1e-9)
        if self._bar is not None:
            self._bar.update(self._task, completed=step,
                             info=f"{fmt_logs(logs)}  {rate:,.0f} samples/s")
        elif self.mode == "lines" and now - self._last_line > 30:
            self._last_line = now
            print(f"  step {step}  {fmt_logs(logs)}  {rate:,.0f} samples/s", file=self.stream,
                  flush=True)

    def end_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        elapsed = time.perf_counter() - self._t0
        rate = self._samples / max(elapsed, 1e-9)
        line = (f"epoch {epoch + 1}/{self._epochs}  {fmt_logs(logs)}  "
                f"{elapsed:.1f}s  {rate:,.0f} samples/s")
        if self._bar is not None:
            self._bar.update(self._task, info=fmt_logs(logs))
            self._bar.console.print(line, highlight=False, markup=False)
            self._bar.remove_task(self._task)
        elif self.mode == "lines":
            print(line, file=self.stream, flush=True)

    def note(self, text: str) -> None:
        if self.mode == "quiet":
            return
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
