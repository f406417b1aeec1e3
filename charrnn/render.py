"""Presentation: the tqdm progress bar and rich tables. The library modules never print; the
CLI passes these renderers in. Progress goes to stderr, results to stdout."""

from __future__ import annotations

import math
import sys

from charrnn.trainer import Callbacks, EvalInfo, StepInfo, TrainResult

LN2 = math.log(2)


def bits(nats: float) -> float:
    return nats / LN2


class TrainProgress(Callbacks):
    """A tqdm bar on stderr: step, train loss, last validation loss, chars/s, ETA."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar = None
        self.last_val = None

    def on_start(self, trainer):
        if self.quiet:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=1000, unit="", file=sys.stderr, dynamic_ncols=True, leave=True,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")
        self.bar.set_description(f"step {trainer.step}")
        self._done = 0

    def on_step(self, info: StepInfo):
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

    def on_eval(self, info: EvalInfo):
        if not math.isnan(info.val_loss):
            self.last_val = info.val_loss
        if self.bar is not None:
            mark = " (best)" if info.improved else ""
            self.bar.write(f"step {info.step}: val loss {info.val_loss:.4f} nats/char"
                           f" ({bits(info.val_loss):.3f} bits){mark}", file=sys.stderr)

    def on_sample(self, step: int, text: str):
        if self.bar is not None:
            self.bar.write(f"--- sample at step {step} ---\n{text}\n---", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def train_summary(result: TrainResult, sample_cmd: str, resume_cmd: str) -> None:
    """The end-of-run table, on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    table = Table(title="charrnn train", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    if result.best_val_loss is not None:
        table.add_row("best validation loss",
                      f"{result.best_val_loss:.4f} nats/char = {bits(result.best_val_loss):.3f} bits/char")
    if result.val_unigram is not None:
        table.add_row("unigram baseline (val)",
                      f"{result.val_unigram:.4f} nats/char = {bits(result.val_unigram):.3f} bits/char")
    table.add_row("train loss (last 100 steps)", f"{result.train_loss:.4f} nats/char")
    table.add_row("steps / epochs", f"{result.steps} / {result.epochs}")
    table.add_row("time", f"{result.elapsed:.1f} s ({result.chars_per_sec:,.0f} chars/s training)")
    table.add_row("stopped by", result.stopped_by)
    table.add_row("best checkpoint", result.best_path)
    table.add_row("last checkpoint", result.last_path)
    console.print(table)
    console.print(f"sample:  {sample_cmd}")
    console.print(f"resume:  {resume_cmd}")
