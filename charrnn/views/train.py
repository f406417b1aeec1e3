"""What `charrnn train` says as it starts (the notes about the text, the recipe, a shortened
batch; stderr) and as it ends (the summary table or JSON on stdout, how to sample and resume, the
unigram note)."""

from __future__ import annotations

import os
import shlex
import sys

from charrnn.ground.ops import bits
from charrnn.training.events import TrainResult
from charrnn.training.runs import LAST
from charrnn.views import terminal
from charrnn.views.progress import notes
from charrnn.views.terminal import new_table, show, stdout_console


def run_start(plan, quiet: bool) -> None:
    """What a training run says before its first step, on stderr: the notes about the text, the
    recipe (left out with --quiet: the checkpoint and `charrnn info` keep it) and a shortened batch."""
    notes(plan.notes)
    if plan.recipe is not None and not quiet:
        kept = " (kept from the checkpoint)" if plan.prior else ""
        print(f"recipe{kept}: {plan.recipe.line()}", file=sys.stderr)
    if plan.batch_size < plan.options.batch_size:
        print(f"note: the training split is short, so --batch-size is {plan.batch_size} "
              f"instead of {plan.options.batch_size}", file=sys.stderr)


def train_end(result: TrainResult, plan, as_json: bool) -> int:
    """Everything `train` says at the end -- the summary table or JSON, the stop and how to
    resume, the unigram note -- and the command's exit code."""
    sample_cmd, resume_cmd = commands(result, plan)
    if as_json:
        terminal.json_out(train_json(result, plan, sample_cmd, resume_cmd))
    if result.stopped_by.requested:
        train_stopped(result, resume_cmd)
        return result.stopped_by.exit_code
    if not as_json:
        train_summary(result, sample_cmd, resume_cmd)
    unigram_note(result)
    return 0


def commands(result: TrainResult, plan) -> tuple[str, str]:
    """(the command that samples from the run's best checkpoint, the one that resumes it)."""
    resume_cmd = f"charrnn train {shlex.quote(plan.corpus_arg)} --resume {shlex.quote(os.path.join(plan.out_dir, LAST))}"
    if plan.corpus_arg == "-":  # the text came through a pipe: it has to come the same way again
        resume_cmd = f"cat CORPUS | {resume_cmd}"
    return f"charrnn sample {shlex.quote(result.best_path)}", resume_cmd


def train_stopped(result: TrainResult, resume_cmd: str) -> None:
    """What an interrupted or terminated run says on its way out (stderr)."""
    print(f"{result.stopped_by.word} at step {result.steps}; saved {result.last_path}\n"
          f"resume with:  {resume_cmd}", file=sys.stderr)


def train_json(result: TrainResult, plan, sample_cmd: str, resume_cmd: str) -> dict:
    """`train --json`: the run's summary as data (schema in docs/scripting.md)."""
    return {
        "run_dir": result.out_dir, "best_checkpoint": result.best_path, "last_checkpoint": result.last_path,
        "best_val_loss": result.best_val_loss, "val_unigram": result.val_unigram, "train_loss": result.train_loss,
        "beats_unigram": beats_unigram(result),
        "steps": result.steps, "epochs": result.epochs, "elapsed": result.elapsed,
        "chars_per_sec": result.chars_per_sec, "stopped_by": result.stopped_by.word,
        "model": {**plan.config.to_dict(), "label": plan.config.label()}, "batch_size": result.batch_size,
        "recipe": plan.recipe.line() if plan.recipe else None,
        "sample_command": sample_cmd, "resume_command": resume_cmd,
    }


def beats_unigram(result: TrainResult) -> bool | None:
    """Whether the best validation loss is below the split's unigram baseline (None: no split)."""
    if result.best_val_loss is None or result.val_unigram is None:
        return None
    return result.best_val_loss < result.val_unigram


def unigram_note(result: TrainResult) -> None:
    """One line on stderr when the model learned no more than the character frequencies."""
    if beats_unigram(result) is False:
        print(f"note: the best validation loss ({result.best_val_loss:.3f} nats/char) is not below the unigram "
              f"baseline ({result.val_unigram:.3f}): the model learned less than counting characters would. Try "
              f"a longer text, a time budget (--time 2m), or a smaller model (--hidden-size 64)", file=sys.stderr)


def train_summary(result: TrainResult, sample_cmd: str, resume_cmd: str) -> None:
    """The end-of-run table, on stdout."""
    console = stdout_console()
    table = new_table(title="charrnn train", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")  # paths are for copying: never cut them short
    if result.best_val_loss is not None:
        table.add_row("best validation loss",
                      f"{result.best_val_loss:.4f} nats/char = {bits(result.best_val_loss):.3f} bits/char")
    if result.val_unigram is not None:
        table.add_row("unigram baseline (val)",
                      f"{result.val_unigram:.4f} nats/char = {bits(result.val_unigram):.3f} bits/char")
    table.add_row("train loss (last 100 steps)", f"{result.train_loss:.4f} nats/char")
    table.add_row("steps / epochs", f"{result.steps} / {result.epochs}")
    table.add_row("time", f"{result.elapsed:.1f} s ({result.chars_per_sec:,.0f} chars/s training)")
    table.add_row("stopped by", result.stopped_by.word)
    table.add_row("best checkpoint", result.best_path)
    table.add_row("last checkpoint", result.last_path)
    show(console, table)
    console.print(f"sample:  {sample_cmd}")
    console.print(f"resume:  {resume_cmd}")
