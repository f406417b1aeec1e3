"""The `charrnn` command: a thin Click layer. Each command validates its options, calls the
library, and hands the result to `render`. Heavy modules (numpy, rich, tqdm) are imported
inside the commands so that `charrnn --help` starts fast.

Every user mistake ends as one line on stderr ("Error: ...") and a non-zero exit code."""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
import time

import click

from charrnn import __version__

RUNS_ENV = "CHARRNN_RUNS"


class OneLineErrors(click.Group):
    """Click prints a usage block before a usage error; here every error is one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as e:
            hint = f" (see 'charrnn {e.ctx.info_name} --help')" if e.ctx and e.ctx.parent else ""
            click.echo(f"Error: {e.format_message()}{hint}", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"Error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class Duration(click.ParamType):
    """90s, 10m, 1h, 1h30m, or plain seconds."""

    name = "DURATION"
    _part = re.compile(r"(\d+(?:\.\d+)?)([smh])")

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            parts = self._part.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                self.fail(f"{value!r} is not a duration; write it like 90s, 10m, 1h or 1h30m", param, ctx)
            seconds = sum(float(n) * {"s": 1, "m": 60, "h": 3600}[u] for n, u in parts)
        if seconds <= 0:
            self.fail(f"{value!r}: a duration must be positive", param, ctx)
        return seconds


def with_blas_threads(command):
    """Adds --threads to a command and runs the command's body under that BLAS thread limit."""

    @click.option("--threads", type=click.IntRange(1, 4096), default=None,
                  help="Threads for the matrix products (BLAS); 1 is faster when other work keeps "
                       "a core busy.  [default: one per core]")
    @functools.wraps(command)
    def run(*args, threads, **kwargs):
        from charrnn.threads import blas_threads

        with blas_threads(threads):
            return command(*args, **kwargs)

    return run


def runs_dir() -> str:
    return os.environ.get(RUNS_ENV, "runs")


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="charrnn")
def main():
    """Train a character-level RNN (RNN, GRU, LSTM) in NumPy on any text file, sample from it,
    and watch backpropagation through time at work.

    \b
      charrnn train corpus.txt --time 10m     teacher forcing + BPTT
      charrnn sample --length 500             free running: its own output fed back in
      charrnn inspect-gradients               gradient checks, vanishing/exploding gradients
    """


# ------------------------------------------------------------------------------------ train
MODEL_DEFAULTS = dict(cell="lstm", hidden_size=512, num_layers=1, activation="tanh",
                      gate_activation="sigmoid", dropout=0.1)


@main.command()
@click.argument("corpus", required=False, default=None)
@click.option("--cell", type=click.Choice(["lstm", "gru", "rnn"]), default=None, help="Recurrent cell.  [default: lstm]")
@click.option("--hidden-size", type=click.IntRange(1, 16384), default=None, help="Hidden units per layer (H).  [default: 512]")
@click.option("--num-layers", type=click.IntRange(1, 32), default=None, help="Stacked recurrent layers.  [default: 1]")
@click.option("--activation", type=click.Choice(["tanh", "relu", "sigmoid"]), default=None, help="State nonlinearity of the rnn cell.  [default: tanh]")
@click.option("--gate-activation", type=click.Choice(["sigmoid", "hard_sigmoid"]), default=None, help="Gate nonlinearity of gru/lstm.  [default: sigmoid]")
@click.option("--dropout", type=click.FloatRange(0.0, 1.0, max_open=True), default=None, help="Dropout on every layer's output (between layers and before the decoder).  [default: 0.1]")
@click.option("--optimizer", type=click.Choice(["adam", "adagrad", "rmsprop", "sgd"]), default=None, help="Optimiser.  [default: adam]")
@click.option("--lr", type=click.FloatRange(0.0, min_open=True), default=None, help="Learning rate.  [default: 0.004]")
@click.option("--lr-schedule", type=click.Choice(["auto", "constant", "cosine"]), default=None,
              help="auto: cosine decay to 10%% of --lr over --time when a time is given, else constant.  [default: auto]")
@click.option("--clip", type=click.FloatRange(0.0), default=None, help="Clip the global gradient norm to this; 0 = off.  [default: 5]")
@click.option("--seq-len", type=click.IntRange(1), default=None, help="BPTT window T (characters per window).  [default: 100]")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="B parallel streams.  [default: 32]")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default=None, help="Training precision.  [default: float32]")
@click.option("--steps", type=click.IntRange(1), default=None, help="Stop after N (more) steps.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Stop after N (more) epochs.")
@click.option("--time", "time_budget", type=Duration(), default=None, help="Stop after this long (90s, 10m, 1h); evaluation included.")
@click.option("--val-frac", type=click.FloatRange(0.0, 1.0, max_open=True), default=None, help="The last fraction of the text validates.  [default: 0.1]")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CORPUS.")
@click.option("--seed", type=int, default=None, help="Random seed (weights, dropout, state resets).  [default: 0]")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help=f"Run directory.  [default: a new directory under ./runs (or ${RUNS_ENV})]")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=str), default=None, help="Continue from this checkpoint.")
@click.option("--eval-every", type=click.IntRange(0), default=None, help="Evaluate and checkpoint every N steps; 0 = at the end only.  [default: 500]")
@click.option("--sample-every", type=click.IntRange(0), default=None, help="Print a preview sample every N steps; 0 = never.  [default: 0]")
@click.option("--state-reset", type=click.FloatRange(0.0, 1.0), default=None,
              help="Chance per window and stream of starting from a zero state, so the model also learns to start fresh.  [default: 0.01]")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_blas_threads
def train(corpus, quiet, resume, out, encoding, steps, epochs, time_budget, **given):
    """Train on CORPUS by teacher forcing and backpropagation through time.

    CORPUS is a text file or a named corpus: tinyshakespeare (downloaded on first use) or
    pydoc (Python's bundled documentation, the default: no file or network needed). With
    --resume and no CORPUS, the run's own corpus is used (found again and checked by SHA-256).
    With no --steps, --epochs or --time a new run trains for 10 epochs. Ctrl-C saves a
    checkpoint and prints the command that resumes it.
    """
    import signal

    from charrnn import checkpoint as ckpt_mod
    from charrnn import corpora, render
    from charrnn.data import Corpus, CorpusError
    from charrnn.model import ModelConfig
    from charrnn.trainer import BEST, LAST, Budget, RunLocked, TrainOptions, Trainer, TrainingDiverged

    model_given = {k: given.pop(k) for k in MODEL_DEFAULTS if k in given}
    model_given = {k: v for k, v in model_given.items() if v is not None}
    opts_given = {k: v for k, v in given.items() if v is not None}

    try:
        prior = ckpt_mod.load(resume) if resume else None
        if prior is not None and corpus is None:  # resume on the text the run was trained on
            text, _ = checkpoint_corpus(prior, None, encoding)
            was = prior.corpus
            source = corpora.Source(text, was.get("name", "corpus"), was.get("path"), was.get("encoding", "utf-8"))
            corpus = source.path or source.name
        else:
            source = corpora.load(corpus, encoding, progress=render.download_progress())
            corpus = corpus or corpora.DEFAULT
        text = source.text
        if prior is not None:
            config = check_resume(prior, model_given, opts_given, text)
            options = TrainOptions(**{**prior.train["options"], **opts_given})
            corpus_data = Corpus.from_text(text, options.val_frac, vocab=prior.vocab)
            out = out or os.path.dirname(os.path.abspath(resume))
            budget = resume_budget(prior, steps, epochs, time_budget)
        else:
            options = TrainOptions(**opts_given)
            corpus_data = Corpus.from_text(text, options.val_frac)
            config = ModelConfig(vocab_size=len(corpus_data.vocab), **{**MODEL_DEFAULTS, **model_given})
            out = out or new_run_dir(source.name)
            if not steps and not epochs and not time_budget:
                epochs = 10
            budget = Budget(end_step=steps, end_epoch=epochs, end_time=time_budget)
        progress = render.TrainProgress(quiet=quiet)
        trainer = Trainer(corpus_data, config, options, out, budget, resume=prior,
                          corpus_info={"name": source.name, "path": source.path, "encoding": source.encoding},
                          callbacks=progress)
        prepare_out_dir(out, resuming=prior is not None)
        if trainer.batch_size < options.batch_size:
            click.echo(f"note: the training split is short, so --batch-size is {trainer.batch_size} "
                       f"instead of {options.batch_size}", err=True)
    except (CorpusError, ckpt_mod.CheckpointError, ValueError) as e:
        raise click.ClickException(str(e)) from None

    def on_signal(signum, frame):
        if trainer.stop_requested:  # a second Ctrl-C: leave at once; files on disk are whole
            raise KeyboardInterrupt
        trainer.stop_requested = "interrupt" if signum == signal.SIGINT else "terminate"

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = trainer.run()
    except TrainingDiverged as e:
        progress.close()
        raise click.ClickException(f"{e}; the last good checkpoint is kept in {out}") from None
    except RunLocked as e:
        progress.close()
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"stopped at once; the last saved checkpoint is in {out}", err=True)
        sys.exit(130)
    except OSError as e:
        progress.close()
        raise click.ClickException(f"cannot write to {out}: {e.strerror or e}") from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    progress.close()
    last = os.path.join(out, LAST)
    resume_cmd = f"charrnn train {shlex.quote(corpus)} --resume {shlex.quote(last)}"
    sample_cmd = f"charrnn sample {shlex.quote(os.path.join(out, BEST))}"
    stopped = {"interrupt": "interrupted", "terminate": "terminated"}.get(result.stopped_by)
    if stopped:
        click.echo(f"{stopped} at step {result.steps}; saved {last}", err=True)
        click.echo(f"resume with:  {resume_cmd}", err=True)
        sys.exit(130 if result.stopped_by == "interrupt" else 143)
    render.train_summary(result, sample_cmd, resume_cmd)


def check_resume(prior, model_given: dict, opts_given: dict, text: str):
    """Refuse a resume whose corpus or options do not fit the checkpoint; return its config."""
    from charrnn.data import sha256_text

    path = prior.path
    if prior.corpus.get("sha256") != sha256_text(text):
        raise ValueError(f"{path} was trained on a different corpus "
                         f"({prior.corpus.get('name', '?')}); resume it with the same text")
    config = prior.config
    for k, v in model_given.items():
        if getattr(config, k) != v:
            raise ValueError(f"--{k.replace('_', '-')} {v} differs from the checkpoint's "
                             f"{getattr(config, k)}; a resumed run keeps its model")
    from charrnn.trainer import TrainOptions

    saved = prior.train["options"]
    for k in TrainOptions.FIXED_ON_RESUME:
        if k in opts_given and opts_given[k] != saved[k]:
            raise ValueError(f"--{k.replace('_', '-')} {opts_given[k]} differs from the checkpoint's "
                             f"{saved[k]}; a resumed run keeps it")
    if prior.carried_state is None or "rng_state" not in prior.train:
        raise ValueError(f"{path} holds weights only, no training state to resume")
    return config


def resume_budget(prior, steps, epochs, time_budget):
    """No budget options: finish the saved budget. Otherwise: this much *more* training."""
    from charrnn.trainer import Budget

    t = prior.train
    if not (steps or epochs or time_budget):
        budget = Budget(**t["budget"])
        if ((budget.end_step is not None and t["step"] >= budget.end_step)
                or (budget.end_epoch is not None and t["epoch"] >= budget.end_epoch)
                or (budget.end_time is not None and t["elapsed"] >= budget.end_time)):
            raise ValueError(f"{prior.path} finished its budget; add --steps, --epochs or --time to train more")
        return budget
    return Budget(
        end_step=t["step"] + steps if steps else None,
        end_epoch=t["epoch"] + epochs if epochs else None,
        end_time=t["elapsed"] + time_budget if time_budget else None,
        start_step=t["step"], start_epoch=float(t["epoch"]), start_time=t["elapsed"],
    )


def new_run_dir(corpus: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(corpus))[0]) or "corpus"
    base = os.path.join(runs_dir(), f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def prepare_out_dir(out: str, resuming: bool) -> None:
    """Create the run directory; refuse one that holds another run or cannot be written."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out {out} is a file, not a directory")
    if not resuming and os.path.isdir(out) and any(
        f.endswith(".safetensors") or f == "metrics.jsonl" for f in os.listdir(out)
    ):
        raise ValueError(f"{out} already holds a run; choose another --out, or --resume its checkpoint")
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"cannot write to --out {out}: {e.strerror or e}") from None


# ----------------------------------------------------------------------------------- sample
def newest_best_checkpoint() -> str:
    """The best checkpoint of the most recently updated run under the runs directory."""
    root = runs_dir()
    found = []
    if os.path.isdir(root):
        for name in os.listdir(root):
            path = os.path.join(root, name, "best.safetensors")
            if os.path.isfile(path):
                found.append((os.path.getmtime(path), path))
    if not found:
        raise click.ClickException(
            f"no checkpoint given and no runs in {root}/; train one with 'charrnn train CORPUS' "
            f"or give a checkpoint path"
        )
    return max(found)[1]


@main.command()
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--length", type=int, default=500, show_default=True, help="New characters per sample (after the prime).")
@click.option("--prime", default="", help="Text to warm the state with (teacher forced); printed, then continued.")
@click.option("--drop-unknown", is_flag=True, help="Leave out prime characters the model never saw instead of refusing.")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="> 0; lower is more conservative.")
@click.option("--top-k", type=int, default=None, help="Sample only from the K most likely characters.")
@click.option("--top-p", type=float, default=None, help="Sample only from the smallest set of characters holding probability P.")
@click.option("--greedy", is_flag=True, help="Always take the most likely character (argmax).")
@click.option("--seed", type=int, default=None, help="The same seed gives the same text.  [default: random]")
@click.option("--num-samples", type=click.IntRange(1, 10000), default=1, show_default=True, help="Independent samples, computed together as a batch.")
@click.option("--stop", default=None, help="End a sample once it produces this string.")
@click.option("--verbose", "-v", is_flag=True, help="Settings, log-probability per character and speed on stderr.")
@with_blas_threads
def sample(checkpoint, length, prime, drop_unknown, temperature, top_k, top_p, greedy, seed, num_samples, stop, verbose):
    """Generate text from CHECKPOINT (default: the newest run's best checkpoint), feeding each
    sampled character back in as the next input. Only the text goes to stdout."""
    from charrnn import checkpoint as ckpt_mod
    from charrnn import sampling
    from charrnn.vocab import UnknownCharacters

    try:
        settings = sampling.SampleSettings(length=length, temperature=temperature, top_k=top_k,
                                           top_p=top_p, greedy=greedy, stop=stop)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if checkpoint is None:
        checkpoint = newest_best_checkpoint()
        click.echo(f"sampling from {checkpoint}", err=True)
    try:
        ck = ckpt_mod.load(checkpoint)
        try:
            ck.vocab.encode(prime)
        except UnknownCharacters as e:
            if not drop_unknown:
                raise ValueError(f"the prime has {e}; remove them or pass --drop-unknown") from None
            prime = "".join(c for c in prime if c in ck.vocab.index)
    except (ckpt_mod.CheckpointError, ValueError) as e:
        raise click.ClickException(str(e)) from None

    if seed is None:
        seed = sampling.random_seed()
    rngs = sampling.sample_seeds(seed, num_samples)
    stats = sampling.SampleStats()
    out = sys.stdout
    buffers = [[prime] for _ in range(num_samples)]  # samples after the first wait their turn
    started = time.perf_counter()

    def header(i):
        if num_samples == 1:
            return ""
        return ("\n" if i else "") + f"----- sample {i + 1}/{num_samples} -----\n"

    out.write(header(0) + prime)
    out.flush()
    pending, last_flush = [], time.perf_counter()
    for chars in sampling.generate(ck.params, ck.config, ck.vocab, settings, rngs, prime, stats):
        pending.append(chars[0])
        for i in range(1, num_samples):
            buffers[i].append(chars[i])
        if len(pending) >= 256 or time.perf_counter() - last_flush > 0.05:
            out.write("".join(pending))
            out.flush()
            pending, last_flush = [], time.perf_counter()
    out.write("".join(pending))
    for i in range(1, num_samples):
        out.write(header(i) + "".join(buffers[i]))
    out.write("\n")
    out.flush()
    seconds = time.perf_counter() - started
    if verbose:
        total = sum(stats.generated)
        mean_lp = sum(stats.log_prob) / max(total, 1)
        click.echo(
            f"checkpoint {checkpoint} ({ck.config.cell} {ck.config.num_layers}x{ck.config.hidden_size}, "
            f"step {ck.train.get('step', '?')})\n"
            f"settings: length {length}, temperature {temperature}, top-k {top_k}, top-p {top_p}, "
            f"greedy {greedy}, seed {seed}, samples {num_samples}, stop {stop!r}\n"
            f"mean log-probability per generated character: {mean_lp:.4f} nats\n"
            f"{total} characters in {seconds:.2f} s: {total / max(seconds, 1e-9):,.0f} chars/s",
            err=True,
        )


# -------------------------------------------------------------------------- inspect-gradients
@main.command("inspect-gradients")
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--corpus", type=click.Path(dir_okay=True, path_type=str), default=None,
              help="Text to take the window from.  [default: the checkpoint's corpus; without a checkpoint, Python's bundled documentation]")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --corpus.")
@click.option("--seq-len", type=click.IntRange(2, 10000), default=100, show_default=True, help="Window length T.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=4, show_default=True, help="Streams B in the window.")
@click.option("--hidden-size", type=click.IntRange(1, 4096), default=64, show_default=True, help="Fresh models only: hidden size.")
@click.option("--num-layers", type=click.IntRange(1, 8), default=1, show_default=True, help="Fresh models only: layers.")
@click.option("--train-steps", type=click.IntRange(0), default=0, show_default=True,
              help="Fresh models only: train each this many steps first, to see trained gates rather than initial ones.")
@click.option("--clip", type=click.FloatRange(0.0), default=5.0, show_default=True, help="Clipping threshold to compare the global norm with.")
@click.option("--check-steps", type=click.IntRange(1), default=20, show_default=True, help="Steps of the window used by the gradient check.")
@click.option("--check-elements", type=click.IntRange(2), default=12, show_default=True, help="Elements checked per large tensor.")
@click.option("--seed", type=int, default=0, show_default=True, help="Chooses the window, the fresh weights and the checked elements.")
@click.option("--json", "as_json", is_flag=True, help="Write the report as JSON on stdout instead of tables.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=str), default=None, help="Also save the rendered report as an SVG picture.")
@click.option("--html", type=click.Path(dir_okay=False, path_type=str), default=None, help="Also save the rendered report as HTML.")
@with_blas_threads
def inspect_gradients(checkpoint, corpus, encoding, seq_len, batch_size, hidden_size, num_layers, train_steps,
                      clip, check_steps, check_elements, seed, as_json, svg, html):
    """See backpropagation through time at work: gradient check, gradient flow back through
    time, per-step contributions to the shared weights, per-gate biases, clipping.

    Given a CHECKPOINT, inspects that model; without one, builds fresh models of every kind
    (rnn with tanh, sigmoid and relu; gru; lstm with sigmoid and hard-sigmoid gates) side by
    side on the same window. Exits non-zero if a gradient check fails."""
    import io
    import json

    import numpy as np
    from rich.console import Console

    from charrnn import checkpoint as ckpt_mod
    from charrnn import corpora, gradients, render
    from charrnn.data import CorpusError, Streams, fit_batch_size
    from charrnn.model import ModelConfig, init_params
    from charrnn.vocab import Vocab

    rng = np.random.default_rng(seed)
    try:
        if checkpoint:
            ck = ckpt_mod.load(checkpoint)
            text, source = checkpoint_corpus(ck, corpus, encoding)
            vocab = ck.vocab
            models = [(ck.config, ck.params)]
        else:
            src = corpora.load(corpus, encoding, progress=render.download_progress())
            text = src.text
            source = src.name if corpus else "Python's bundled documentation (pydoc_data)"
            vocab = Vocab.from_text(text)
            models = []
            for cell, act, gate in gradients.FRESH_MODELS:
                config = ModelConfig(vocab_size=len(vocab), hidden_size=hidden_size, num_layers=num_layers,
                                     cell=cell, activation=act, gate_activation=gate)
                models.append((config, init_params(config, np.random.default_rng(seed))))
        ids = vocab.encode(text, unknown="drop")
        B = fit_batch_size(len(ids), batch_size, seq_len)
        streams = Streams(ids, B, seq_len)
    except (ckpt_mod.CheckpointError, CorpusError, ValueError) as e:
        raise click.ClickException(str(e)) from None

    window = streams.window(int(rng.integers(streams.windows_per_epoch)))  # (T+1, B)
    reports = []
    for config, params in models:
        if not checkpoint and train_steps:
            gradients.warm_up(params, config, streams, train_steps)
        rep = gradients.inspect(params, config, window, clip=clip, check_steps=check_steps,
                                check_elements=check_elements, seed=seed)
        reports.append(rep)
    report = {
        "window": {"seq_len": seq_len, "batch_size": B, "source": source,
                   "checkpoint": checkpoint, "train_steps": 0 if checkpoint else train_steps},
        "tolerance": gradients.CHECK_TOLERANCE,
        "models": reports,
        "all_checks_passed": all(r["gradient_check"]["passed"] for r in reports),
    }
    console = Console(file=io.StringIO() if as_json else None, record=bool(svg or html),
                      width=None if sys.stdout.isatty() and not (svg or html) else 160,
                      highlight=False)
    render.inspect_report(report, console)
    if as_json:
        click.echo(json.dumps(finite_or_none(report), indent=1))
    if svg:
        console.save_svg(svg, title="charrnn inspect-gradients", clear=False)
    if html:
        console.save_html(html, clear=False)
    if not report["all_checks_passed"]:
        click.echo("Error: a gradient check failed: the BPTT gradient disagrees with finite differences", err=True)
        sys.exit(1)


GIVE_CORPUS = "give the corpus file explicitly (train: CORPUS; inspect-gradients: --corpus FILE)"


def checkpoint_corpus(ck, corpus: str | None, encoding: str) -> tuple[str, str]:
    """(text, display name) for a checkpoint: --corpus if given, else the text it was trained
    on (its file, or its named corpus), verified by SHA-256."""
    from charrnn import corpora
    from charrnn.data import CorpusError, sha256_text

    if corpus is not None:
        src = corpora.load(corpus, encoding)
        return src.text, src.name
    name, path = ck.corpus.get("name"), ck.corpus.get("path")
    if path and os.path.isfile(path):
        src = corpora.load(path, ck.corpus.get("encoding", "utf-8"))
    elif name in corpora.NAMES:
        src = corpora.load(name)
    else:
        raise CorpusError(f"the corpus {ck.path} was trained on is not at hand; {GIVE_CORPUS}")
    if sha256_text(src.text) != ck.corpus.get("sha256"):
        raise CorpusError(f"{src.path or src.name} changed since {ck.path} was trained on it; {GIVE_CORPUS}")
    return src.text, src.name


def finite_or_none(x):
    """JSON has no NaN or infinity: write them as null."""
    import math

    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite_or_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_or_none(v) for v in x]
    return x


# ------------------------------------------------------------------------------- eval, info
@main.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=str))
@click.argument("text")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Write the result as JSON.")
@with_blas_threads
def eval_command(checkpoint, text, encoding, as_json):
    """Loss of CHECKPOINT on TEXT (a file or a named corpus), teacher forced with the state
    carried through the whole text: nats/char, bits/char and perplexity, beside the unigram
    baseline of the same text. Characters the model never saw are left out and counted."""
    import json
    import math

    from charrnn import checkpoint as ckpt_mod
    from charrnn import corpora, render
    from charrnn.data import CorpusError, unigram_entropy
    from charrnn.teacher_forcing import evaluate_stream

    try:
        ck = ckpt_mod.load(checkpoint)
        src = corpora.load(text, encoding, progress=render.download_progress())
    except (ckpt_mod.CheckpointError, CorpusError) as e:
        raise click.ClickException(str(e)) from None
    ids = ck.vocab.encode(src.text, unknown="drop")
    if len(ids) < 2:
        raise click.ClickException(f"{src.name} has fewer than two characters the model knows; nothing to evaluate")
    loss, predicted = evaluate_stream(ck.params, ck.config, ids)
    result = {
        "checkpoint": checkpoint, "text": src.name, "loss": loss, "bits": render.bits(loss),
        "perplexity": math.exp(loss), "unigram": unigram_entropy(ids, ck.config.vocab_size),
        "predicted": predicted, "unknown_count": len(src.text) - len(ids),
        "unknown_chars": ck.vocab.unknown(src.text),
    }
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        render.eval_report(result)


@main.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Write the information as JSON.")
def info(checkpoint, as_json):
    """What a checkpoint holds: model config, parameters per tensor (PyTorch names),
    vocabulary, corpus, training progress and the loss curve."""
    import json

    from charrnn import checkpoint as ckpt_mod
    from charrnn import render
    from charrnn.model import num_params

    try:
        ck = ckpt_mod.load(checkpoint)
    except ckpt_mod.CheckpointError as e:
        raise click.ClickException(str(e)) from None
    t = ck.train
    result = {
        "checkpoint": checkpoint,
        "config": ck.config.to_dict(),
        "parameters": num_params(ck.config),
        "tensors": [{"name": n, "shape": list(p.shape), "count": int(p.size)} for n, p in ck.params.items()],
        "vocab": ck.vocab.chars,
        "corpus": ck.corpus,
        "training": {k: t.get(k) for k in ("step", "epoch", "elapsed", "best_val_loss", "options", "batch_size")},
        "history": t.get("history", []),
    }
    if as_json:
        click.echo(json.dumps(finite_or_none(result), indent=1))
    else:
        render.info_report(result, result["history"])
