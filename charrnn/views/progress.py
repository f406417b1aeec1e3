"""A run's progress on stderr as it trains (a live bar, plain lines, or nothing), and the lines
the library leaves for the user. Progress goes to stderr, results to stdout."""

from __future__ import annotations

import math
import sys
import time

from charrnn.ground.ops import bits
from charrnn.training.budget import Stop
from charrnn.training.events import Callbacks, EvalInfo, StepInfo
from charrnn.views import terminal

PROGRESS = ("auto", "bar", "lines", "none")


def progress_mode(asked: str, stream=None) -> str:
    """auto: the live bar on a terminal, plain lines anywhere else (a file, a pipe, CI)."""
    stream = stream or sys.stderr
    if asked != "auto":
        return asked
    return "bar" if getattr(stream, "isatty", lambda: False)() else "lines"


class TrainProgress(Callbacks):
    """A run's progress on stderr, as `mode` says:

        bar    a live tqdm bar (step, train loss, last validation loss, chars/s, ETA), redrawn in
               place: for a terminal
        lines  plain lines, one at each evaluation and at most one every LINE_SECONDS between,
               each a complete statement (step, share of the budget, elapsed, chars/s, train and
               validation loss): for a file, a pipe or CI, where a redrawn bar is noise
        none   nothing (samples asked for with --sample-every still show)

    A context manager: the bar is closed however training ends."""

    LINE_SECONDS = 60.0

    def __init__(self, mode: str = "bar", notebook: bool = False):
        self.mode = mode
        self.notebook = notebook  # the bar drawn by tqdm.auto: a widget in a notebook, text elsewhere
        self.bar = None
        self.last_val = None
        self.last: StepInfo | None = None
        self.losses: list = []  # window losses since the last line
        self.line_at = None  # monotonic time of the last line

    def __enter__(self) -> "TrainProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def on_start(self, step: int):
        self.line_at = time.monotonic()
        if self.mode != "bar":
            return
        if self.notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm

        self.bar = tqdm(total=1000, unit="", file=sys.stderr, dynamic_ncols=True, leave=True,
                        ascii=True if terminal.ascii_only else None,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")
        self.bar.set_description(f"step {step}")
        self._done = 0

    def on_step(self, info: StepInfo):
        self.last = info
        if self.mode == "lines":
            self.losses.append(info.loss)
            if time.monotonic() - self.line_at >= self.LINE_SECONDS:
                self.line()
        if self.bar is None:
            return
        target = int(info.progress * 1000)
        if target > self._done:
            self.bar.update(target - self._done)
            self._done = target
        if info.step % 5 == 0 or info.step < 5:
            self.bar.set_description(f"step {info.step}")
            val = f" val {self.last_val:.3f}" if self.last_val is not None else ""
            self.bar.set_postfix_str(f"loss {info.loss:.3f}{val} | {info.chars_per_sec:,.0f} chars/s", refresh=False)

    def line(self, evaluation: EvalInfo | None = None) -> None:
        """One line of the log: where the run is, and its losses."""
        info = self.last
        if info is None:
            return
        minutes, seconds = divmod(int(info.elapsed), 60)
        parts = [f"step {info.step:,}" + (f" ({info.progress:.0%})" if info.progress else ""),
                 f"{minutes}:{seconds:02d} elapsed", f"{info.chars_per_sec:,.0f} chars/s"]
        if self.losses:
            parts.append(f"train loss {sum(self.losses) / len(self.losses):.4f}")
        if evaluation is not None and not math.isnan(evaluation.val_loss):
            parts.append(f"val loss {evaluation.val_loss:.4f} ({bits(evaluation.val_loss):.3f} bits)"
                         + (" best" if evaluation.improved else ""))
        print(" | ".join(parts), file=sys.stderr, flush=True)
        self.losses, self.line_at = [], time.monotonic()

    def on_eval(self, info: EvalInfo):
        if not math.isnan(info.val_loss):
            self.last_val = info.val_loss
        if self.bar is not None:
            mark = " (best)" if info.improved else ""
            self.bar.write(f"step {info.step}: val loss {info.val_loss:.4f} nats/char"
                           f" ({bits(info.val_loss):.3f} bits){mark}", file=sys.stderr)
        elif self.mode == "lines":
            self.line(info)

    def on_sample(self, step: int, text: str):
        if self.bar is not None:
            self.bar.write(f"--- sample at step {step} ---\n{text}\n---", file=sys.stderr)
        else:
            print(f"--- sample at step {step} ---\n{text}\n---", file=sys.stderr)

    def on_stop_requested(self, stop: Stop):
        # written straight to the stream: this runs inside a signal handler
        sys.stderr.write(f"\n{stop.word}: finishing this step and saving "
                         f"(Ctrl-C again to stop at once)\n")
        sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def notes(lines) -> None:
    """Lines the library left for the user (a byte-order mark dropped, ...), on stderr."""
    for line in lines:
        print(line, file=sys.stderr)


def download_progress():
    """A callback(done, total) drawing a tqdm bar on stderr while a corpus downloads."""
    state = {}

    def update(done: int, total: int):
        from tqdm import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="B", unit_scale=True, desc="download", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update
