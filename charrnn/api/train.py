"""A run trained from Python, and the part of `charrnn train` both doors share:

    summary = charrnn.train("corpus.txt", time="2m")    # what `charrnn train --json` gives
    summary = charrnn.train("names.txt", time="5m", hidden_size=256, progress=False)

Planning (training/plan.py), the loop (training/loop.py) and the summary (views/train.py) are
the command line's own; `run` is the loop with Ctrl-C and SIGTERM asking it to stop after its
step, as `charrnn train` has it.
"""

from __future__ import annotations

import threading

from charrnn.ground.errors import SettingsError
from charrnn.ground.fields import option_fields, seconds_of
from charrnn.model import ModelConfig
from charrnn.training.events import Callbacks, TrainResult
from charrnn.training.loop import Trainer
from charrnn.training.options import TrainOptions
from charrnn.training.plan import RunPlan, plan_run
from charrnn.training.runs import stop_on_signals
from charrnn.views.progress import TrainProgress
from charrnn.views.train import commands, run_start, train_json


def run(plan: RunPlan, callbacks: Callbacks) -> TrainResult:
    """The planned run, trained. In the main thread Ctrl-C (and SIGTERM) finishes the step, saves
    and returns (`stopped_by` says so); a second Ctrl-C raises KeyboardInterrupt at once."""
    trainer = Trainer(plan, callbacks)
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        return trainer.run()
    with stop_on_signals(trainer.request_stop):
        return trainer.run()


def train(corpus: str | None = None, *, time=None, steps: int | None = None, epochs: int | None = None,
          out: str | None = None, resume: str | None = None, init_from: str | None = None, lines: bool | None = None,
          encoding: str = "utf-8", progress: bool = True, **options) -> dict:
    """Train as `charrnn train` does and return what `charrnn train --json` prints. `time` is
    seconds or a duration ("90s", "10m", "1h30m"); `lines` True or False forces reading the
    corpus as a list or as a running text (None: judged); `init_from` fine-tunes a trained model
    (`charrnn train --init-from`); `options` are the model's and the
    training's options by their field names (hidden_size=256, dropout=0.2, lr=3e-3, seed=1, ...),
    what is left out chosen by the recipe. `progress`: the recipe line and a progress bar
    (tqdm.auto: a widget in a notebook) on stderr; False prints nothing.

    Errors are UserError exceptions with the command line's one-line messages. Ctrl-C saves the
    run as `charrnn train` does and raises KeyboardInterrupt, its message naming the checkpoint."""
    model_fields = {f.name for f, _ in option_fields(ModelConfig)}
    train_fields = {f.name for f, _ in option_fields(TrainOptions)}
    unknown = sorted(set(options) - model_fields - train_fields)
    if unknown:
        raise SettingsError(f"unknown option {unknown[0]!r}; the options are {', '.join(sorted(model_fields | train_fields))}")
    try:
        time_budget = None if time is None else seconds_of(time)
    except ValueError as e:
        raise SettingsError(f"time: {e}") from None
    plan = plan_run(corpus, resume=resume, out=out, encoding=encoding, steps=steps, epochs=epochs,
                    time_budget=time_budget, read_as=None if lines is None else ("lines" if lines else "stream"),
                    init_from=init_from,
                    model_given={k: v for k, v in options.items() if k in model_fields},
                    options_given={k: v for k, v in options.items() if k in train_fields})
    if progress:
        run_start(plan, quiet=False)
    with TrainProgress("bar" if progress else "none", notebook=True) as bar:
        result = run(plan, bar)
    summary = train_json(result, plan, *commands(result, plan))
    if result.stopped_by.requested:
        raise KeyboardInterrupt(f"{result.stopped_by.word} at step {result.steps}; saved {result.last_path}")
    return summary
