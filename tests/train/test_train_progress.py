"""Progress output: a rich bar on a terminal, plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import io

from specc.train.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def drive(p: Progress) -> None:
    p.start(2)
    for epoch in range(2):
        p.start_epoch(epoch, 3)
        for step in range(1, 4):
            p.step(step, 32, {"loss": 1.0 / step, "accuracy": 0.5})
        p.end_epoch(epoch, {"loss": 0.3, "val_accuracy": 0.9})
    p.note("run saved in runs/x")
    p.stop()


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    drive(Progress("auto", out))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/2  loss 0.3  val_accuracy 0.9")
    assert "samples/s" in lines[0] and lines[1].startswith("epoch 2/2")
    assert lines[-1] == "run saved in runs/x"


def test_rich_bar_on_a_terminal():
    out = Tty()
    p = Progress("auto", out)
    assert p.mode == "bar"
    drive(p)
    text = out.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "eta" in text
    assert "samples/s" in text and "run saved in runs/x" in text


def test_quiet_prints_nothing():
    out = Tty()
    drive(Progress("quiet", out))
    assert out.getvalue() == ""
