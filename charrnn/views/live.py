"""Live output of `train` and `sample`: the progress of a run (a tqdm bar on stderr), what a run
says as it starts and ends, and generated text streamed to stdout as it comes. The library
modules never print; the CLI passes these in. Progress goes to stderr, results to stdout."""

from __future__ import annotations

import math
import sys
import time

from charrnn.views import terminal
from charrnn.ground.ops import bits
from charrnn.ground.errors import UserError
from charrnn.views.terminal import new_table, show, stdout_console
from charrnn.training.budget import Stop
from charrnn.training.events import Callbacks, EvalInfo, StepInfo, TrainResult


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

    def __init__(self, mode: str = "bar"):
        self.mode = mode
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


def train_end(result: TrainResult, plan, as_json: bool) -> int:
    """Everything `train` says at the end -- the summary table or JSON, the stop and how to
    resume, the unigram note -- and the command's exit code."""
    import os
    import shlex

    from charrnn.training.runs import LAST

    resume_cmd = f"charrnn train {shlex.quote(plan.corpus_arg)} --resume {shlex.quote(os.path.join(plan.out_dir, LAST))}"
    if plan.corpus_arg == "-":  # the text came through a pipe: it has to come the same way again
        resume_cmd = f"cat CORPUS | {resume_cmd}"
    sample_cmd = f"charrnn sample {shlex.quote(result.best_path)}"
    if as_json:
        terminal.json_out(train_json(result, plan, sample_cmd, resume_cmd))
    if result.stopped_by.requested:
        train_stopped(result, resume_cmd)
        return result.stopped_by.exit_code
    if not as_json:
        train_summary(result, sample_cmd, resume_cmd)
    unigram_note(result)
    return 0


def train_stopped(result: TrainResult, resume_cmd: str) -> None:
    """What an interrupted or terminated run says on its way out (stderr)."""
    print(f"{result.stopped_by.word} at step {result.steps}; saved {result.last_path}\n"
          f"resume with:  {resume_cmd}", file=sys.stderr)


class Unencodable(UserError):
    """stdout cannot encode a character of the generated text."""


def write_text(out, text: str) -> None:
    """Write and flush; when `out` cannot encode a character, write everything before it, then
    raise Unencodable naming the character and the fixes. (A text stream encodes the whole
    string before writing any of it, so a failed write wrote nothing.)"""
    try:
        out.write(text)
    except UnicodeEncodeError as e:
        out.write(text[: e.start])
        out.flush()
        ch = text[e.start]
        raise Unencodable(
            f"stdout's encoding ({out.encoding}) cannot write {ch!r} (U+{ord(ch):04X}) of the generated "
            f"text; run with PYTHONIOENCODING=utf-8, or pass --replace-unencodable to write '?' instead") from None
    out.flush()


def stream_samples(chunks, out, prime: str, num_samples: int, replace_unencodable: bool = False) -> None:
    """Write generated text to `out` as it comes: sample 1 streamed (flushed every 256
    characters or 50 ms, so a slow model still shows progress), samples 2.. buffered and written
    after it under a header each. `chunks` yields one list of new characters per step."""
    if replace_unencodable and hasattr(out, "reconfigure"):
        out.reconfigure(errors="replace")

    def header(i):
        return "" if num_samples == 1 else ("\n" if i else "") + f"----- sample {i + 1}/{num_samples} -----\n"

    buffers = [[prime] for _ in range(num_samples)]
    write_text(out, header(0) + prime)
    pending, last_flush = [], time.perf_counter()
    for chars in chunks:
        pending.append(chars[0])
        for i in range(1, num_samples):
            buffers[i].append(chars[i])
        if len(pending) >= 256 or time.perf_counter() - last_flush > 0.05:
            write_text(out, "".join(pending))
            pending, last_flush = [], time.perf_counter()
    write_text(out, "".join(pending))
    for i in range(1, num_samples):
        write_text(out, header(i) + "".join(buffers[i]))
    write_text(out, "\n")


def sample_summary(checkpoint: str, ck, settings, seed: int, num_samples: int, stats, seconds: float,
                   prime: str) -> None:
    """`charrnn sample --verbose`: the model, the settings, how likely the text was, the speed,
    and where the two architectures met: the prime read teacher forced, the rest free running."""
    total = sum(stats.generated)
    mean_lp = sum(stats.log_prob) / max(total, 1)
    print(f"checkpoint {checkpoint} ({ck.config.label()}, step {ck.train.step if ck.train else '?'})\n"
          f"settings: length {settings.length}, temperature {settings.temperature}, top-k {settings.top_k}, "
          f"top-p {settings.top_p}, greedy {settings.greedy}, seed {seed}, samples {num_samples}, "
          f"stop {settings.stop!r}\n"
          f"mean log-probability per generated character: {mean_lp:.4f} nats\n"
          f"{total} characters in {seconds:.2f} s: {total / max(seconds, 1e-9):,.0f} chars/s\n"
          f"characters 1..{len(prime)}: the prime, read teacher forced (observed input); from character "
          f"{len(prime) + 1} on: free running (each sampled character fed back as the next input)", file=sys.stderr)


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
