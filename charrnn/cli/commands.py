"""The `charrnn` commands: parse the options, call the library, render the result. Nothing else
lives here; how options are built from the library's dataclasses and how errors become one line
on stderr is in params.py.

Heavy modules (numpy, rich, tqdm) are imported inside the commands so that `charrnn --help`
starts fast.
"""

from __future__ import annotations

import sys
import time

import click

from charrnn import __version__, networks
from charrnn.cli.params import (
    SETTINGS,
    Duration,
    OneLineErrors,
    fail,
    given,
    options_from,
    with_ascii,
    with_blas_threads,
)
from charrnn.model import ModelConfig
from charrnn.reports.exposure import ExposureSettings
from charrnn.reports.inspect import InspectSettings
from charrnn.sampling import SampleSettings
from charrnn.training.options import RECIPE_MODEL_FIELDS, RECIPE_TRAIN_FIELDS, TrainOptions
from charrnn.views.progress import PROGRESS


@click.group(cls=OneLineErrors, context_settings=SETTINGS)
@click.version_option(__version__, prog_name="charrnn")
def main():
    from charrnn.cli.memory import keep_freed_memory

    keep_freed_memory()  # every window's arrays reuse the last window's pages (cli/memory.py)


main.help = f"""Train a character-level recurrent network ({", ".join(n.name for n in networks.NETWORKS.values())})
    in NumPy on any text file, sample from it, and watch backpropagation through time at work.

    \b
      charrnn train corpus.txt --time 10m     teacher forcing + BPTT
      charrnn sample --length 500             free running: its own output fed back in
      charrnn inspect-gradients               gradient checks, vanishing/exploding gradients
    """  # the networks from the registry: a new one is named here without an edit


def load_checkpoint(path: str):
    """The checkpoint, checked (training/checkpoint.load); one note on stderr for one saved before
    checkpoints carried a checksum, which loads unchecked."""
    from charrnn.training.checkpoint import load

    ck = load(path)
    if not ck.verified:
        click.echo(f"note: {path} was saved before checkpoints carried a checksum; it loads unchecked", err=True)
    return ck


# ------------------------------------------------------------------------------------ train
@main.command()
@click.argument("corpus", required=False, default=None)
@options_from(ModelConfig, recipe=RECIPE_MODEL_FIELDS)
@options_from(TrainOptions, recipe=RECIPE_TRAIN_FIELDS)
@click.option("--steps", type=click.IntRange(1), default=None, help="Stop after N (more) steps.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Stop after N (more) epochs.")
@click.option("--time", "time_budget", type=Duration(), default=None, help="Stop after this long (90s, 10m, 1h); evaluation included.")
@click.option("--encoding", default="utf-8", show_default=True,
              help="Text encoding of CORPUS: any codec Python knows (cp932, euc_jp, utf-16, latin-1, ...).")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              show_default="a new directory under ./runs or $CHARRNN_RUNS", help="Run directory.")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=str), default=None, help="Continue from this checkpoint.")
@click.option("--init-from", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Start from this checkpoint's weights (fine-tuning on CORPUS): its network and size are kept, "
                   "characters CORPUS adds start as a fresh model's, the rest is chosen anew (a new run).")
@click.option("--lines", "read_as", flag_value="lines", default=None,
              help="Read CORPUS as a list, one item a line: each item from the initial state, its end predicted "
                   "(default: judged from the text).")
@click.option("--stream", "read_as", flag_value="stream", help="Read CORPUS as one running text, even if it looks like "
                                                              "a list.")
@click.option("--progress", "progress_", type=click.Choice(PROGRESS), default="auto",
              show_default=True, help="How progress shows on stderr: a live bar, plain log lines (one per evaluation, "
                                      "at most one a minute between), or nothing; auto: the bar on a terminal, lines "
                                      "elsewhere (a file, a pipe).")
@click.option("--quiet", is_flag=True, help="No progress and no recipe line (errors still show); --progress none too.")
@click.option("--json", "as_json", is_flag=True, help="The run's summary as one JSON object on stdout, instead of "
                                                      "the table.")
@with_ascii
@with_blas_threads
def train(corpus, quiet, progress_, as_json, resume, init_from, read_as, out, encoding, steps, epochs, time_budget,
          **values):
    """Train on CORPUS by teacher forcing and backpropagation through time.

    CORPUS is a text file, '-' for text piped into standard input, or a named corpus:
    tinyshakespeare (downloaded on first use) or pydoc (Python's bundled documentation, the
    default: no file or network needed). With
    --resume and no CORPUS, the run's own corpus is used (found again and checked by SHA-256).
    With no --steps, --epochs or --time a new run trains until 5 evaluations in a row find no
    better validation loss, for at most 30 minutes. The model and the
    options marked "recipe" are chosen for the corpus and the budget when left out (one line
    at the start says what and why); given, they win. Ctrl-C saves a checkpoint and prints
    the command that resumes it.
    """
    from charrnn.api.train import run
    from charrnn.training.plan import plan_run
    from charrnn.views.progress import TrainProgress, download_progress, progress_mode
    from charrnn.views.train import run_start, train_end

    plan = plan_run(corpus, resume=resume, out=out, encoding=encoding, model_given=given(ModelConfig, values),
                    options_given=given(TrainOptions, values), steps=steps, epochs=epochs,
                    time_budget=time_budget, progress=download_progress(), read_as=read_as, init_from=init_from)
    run_start(plan, quiet)
    mode = "none" if quiet else progress_mode(progress_)
    with TrainProgress(mode) as progress:
        try:
            result = run(plan, progress)
        except KeyboardInterrupt:  # a second Ctrl-C
            fail(f"stopped at once; the last saved checkpoint is in {plan.out_dir}", 130, prefix="")
    sys.exit(train_end(result, plan, as_json))


# ----------------------------------------------------------------------------------- sample
@main.command()
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False, path_type=str))
@options_from(SampleSettings)
@click.option("--prime", default="", help="Text to warm the state with (teacher forced); printed, then continued.")
@click.option("--drop-unknown", is_flag=True, help="Leave out prime characters the model never saw instead of refusing.")
@click.option("--seed", type=int, default=None, show_default="random", help="The same seed gives the same text.")
@click.option("--num-samples", type=click.IntRange(1, 10000), default=None, show_default="1; a list model: 10",
              help="Independent samples, computed together as a batch (a list model: whole items).")
@click.option("--new-only", is_flag=True, help="A list model: only items in neither its training nor its validation "
                                               "list.")
@click.option("--unique", is_flag=True, help="A list model: no item twice.")
@click.option("--json", "as_json", is_flag=True, help="The samples as JSON on stdout (a list model's items with their "
                                                      "marks and log-probabilities).")
@click.option("--verbose", "-v", is_flag=True, help="Settings, log-probability per character and speed on stderr.")
@click.option("--replace-unencodable", is_flag=True,
              help="Write '?' for characters stdout's encoding cannot write, instead of stopping.")
@with_blas_threads
def sample(checkpoint, prime, drop_unknown, seed, num_samples, new_only, unique, as_json, verbose,
           replace_unencodable, **values):
    """Generate text from CHECKPOINT (default: the newest run's best checkpoint), feeding each
    sampled character back in as the next input. Only the text goes to stdout.

    A list model (one item a line) writes whole items, one a line, each from the initial state
    (--prime: the start of each item; --length caps each item after it), and says on stderr how
    many are new and how many are in its training or validation list."""
    from charrnn import sampling
    from charrnn.corpus.text import normalize_text
    from charrnn.training.runs import newest_best_checkpoint

    settings = SampleSettings(**values)
    if checkpoint is None:
        checkpoint = newest_best_checkpoint()
        click.echo(f"sampling from {checkpoint}", err=True)
    ck = load_checkpoint(checkpoint)
    prime = sampling.known_prime(ck.vocab, normalize_text(prime, ck.normalization), drop_unknown)
    seed = sampling.random_seed() if seed is None else seed
    if ck.config.item_start is not None:
        sample_items(ck, settings, seed, num_samples or 10, prime, new_only, unique, as_json, replace_unencodable)
    elif new_only or unique:
        fail(f"--{'new-only' if new_only else 'unique'} is for a list model; {checkpoint} models a running text", 2)
    else:
        sample_text(checkpoint, ck, settings, seed, num_samples or 1, prime, as_json, verbose, replace_unencodable)


def sample_text(checkpoint, ck, settings, seed, num_samples, prime, as_json, verbose, replace_unencodable):
    """A running text's samples, streamed to stdout as they come (or as JSON at the end)."""
    from charrnn import sampling
    from charrnn.views.sample import sample_summary, samples_json, stream_samples

    stats = sampling.SampleStats()
    started = time.perf_counter()
    chunks = sampling.generate(ck.params, ck.config, ck.vocab, settings, sampling.sample_seeds(seed, num_samples),
                               prime, stats)
    if as_json:
        samples_json(chunks, prime, num_samples, stats, seed)
    else:
        stream_samples(chunks, sys.stdout, prime, num_samples, replace_unencodable)
    if verbose:
        sample_summary(checkpoint, ck, settings, seed, num_samples, stats, time.perf_counter() - started, prime)


def sample_items(ck, settings, seed, count, prime, new_only, unique, as_json, replace_unencodable):
    """A list model's whole items, one a line on stdout (or JSON), their marks on stderr."""
    from charrnn.reports.samples import list_samples
    from charrnn.views.sample import items_summary, write_items
    from charrnn.views.terminal import json_out

    report = list_samples(ck, settings, seed, count, prime, new_only, unique)
    json_out(report) if as_json else write_items(report, sys.stdout, replace_unencodable)
    items_summary(report)


# -------------------------------------------------------------------------- inspect-gradients
@main.command("inspect-gradients")
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--corpus", type=click.Path(dir_okay=True, path_type=str), default=None,
              show_default="the checkpoint's corpus, or Python's bundled documentation",
              help="Text to take the window from.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --corpus.")
@options_from(InspectSettings)
@click.option("--json", "as_json", is_flag=True, help="Write the report as JSON on stdout instead of tables.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also save the terminal report as an SVG picture.")
@click.option("--html", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also save the report as a page: charts of the gradient flow, per-step contributions and gate "
                   "openness, and the tables.")
@with_ascii
@with_blas_threads
def inspect_gradients(checkpoint, corpus, encoding, as_json, svg, html, **values):
    """See backpropagation through time at work: gradient check, gradient flow back through
    time, per-step contributions to the shared weights, per-gate biases, clipping.

    Given a CHECKPOINT, inspects that model; without one, builds fresh models of every kind
    (rnn with tanh, sigmoid and relu; gru; lstm with sigmoid and hard-sigmoid gates; the
    output-recurrent jordan network) side by side on the same window. Exits non-zero if a
    gradient check fails."""
    from charrnn.reports.inspect import build_report
    from charrnn.views.gradients import inspect_output
    from charrnn.views.progress import download_progress

    report = build_report(checkpoint, corpus, encoding, InspectSettings(**values), download_progress())
    inspect_output(report, as_json=as_json, svg=svg, html=html)
    if not report["all_checks_passed"]:
        fail("a gradient check failed: the BPTT gradient disagrees with finite differences", 1)


# ------------------------------------------------------------------------------- eval, info
@main.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=str))
@click.argument("text")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Write the result as JSON.")
@click.option("--by-position", is_flag=True,
              help="Also the loss by position in a stream read from a zero state, in buckets of the training window T "
                   "out to 10 T: does the model keep its loss past the length it was trained on?")
@with_ascii
@with_blas_threads
def eval_command(checkpoint, text, encoding, as_json, by_position):
    """Loss of CHECKPOINT on TEXT (a file, '-' for standard input, or a named corpus), teacher forced with the state
    carried through the whole text: nats/char, bits/char and perplexity, beside the unigram
    baseline of the same text. Characters the model never saw are left out and counted."""
    from charrnn.corpus import corpora
    from charrnn.reports.evaluation import evaluation
    from charrnn.views.evaluation import eval_report
    from charrnn.views.progress import download_progress, notes
    from charrnn.views.terminal import json_out

    ck = load_checkpoint(checkpoint)
    src = corpora.load(text, encoding, progress=download_progress(), normalize=ck.normalization)
    notes(src.notes)
    result = evaluation(ck, src, by_position)
    json_out(result) if as_json else eval_report(result)


@main.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Write the information as JSON.")
@click.option("--vocab", "whole_vocab", is_flag=True, help="Show the whole vocabulary, not only its start.")
@with_ascii
def info(checkpoint, as_json, whole_vocab):
    """What a checkpoint holds: model config, parameters per tensor (PyTorch names),
    vocabulary, corpus, training progress and the loss curve."""
    from charrnn.reports.evaluation import description
    from charrnn.views.evaluation import info_report
    from charrnn.views.terminal import json_out

    result = description(load_checkpoint(checkpoint))
    json_out(result) if as_json else info_report(result, result["history"], whole_vocab)


@main.command("exposure-bias")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=str))
@click.argument("text", required=False)
@options_from(ExposureSettings)
@click.option("--judge", "judge_path", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A charrnn checkpoint that scores the continuations (default: a Kneser-Ney n-gram model of the "
                   "training text).")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Write the report as JSON.")
@with_ascii
@with_blas_threads
def exposure_bias(checkpoint, text, judge_path, encoding, as_json, **values):
    """Exposure bias, measured with a control, on real text (default: the run's validation
    split): from each of N real prefixes the model writes a continuation, and again from a
    prefix of its own of the same length; a judge that is not the model (an n-gram model of the
    training text, or --judge CKPT) scores both, with 95% bootstrap intervals over the prefixes.
    Their ratio is EB-M (He et al.): 1 = no exposure bias. Also how the two unrolls part on
    the real text, against the floor of two real texts, and how the model's text differs."""
    from charrnn.reports.exposure import exposure_bias
    from charrnn.views.exposure import exposure_report
    from charrnn.views.progress import notes
    from charrnn.views.terminal import json_out

    lines: list = []
    report = exposure_bias(load_checkpoint(checkpoint), text, encoding, ExposureSettings(**values), lines,
                           load_checkpoint(judge_path) if judge_path else None)
    notes(lines)
    json_out(report) if as_json else exposure_report(report)


@main.command()
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.argument("text", required=False)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Write the page: the text coloured by any unit, predictions on hover, the ranking, gate saturation.")
@click.option("--unit", default=None, metavar="L:N | L:KIND:N",
              help="Print the text coloured by this unit (layer L's h[N], or e.g. 0:c:17 for a cell state c).")
@click.option("--top", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Units listed per property.")
@click.option("--max-chars", type=click.IntRange(10, 200_000), default=5000, show_default=True,
              help="Characters of the text put into the page (ranking and saturation use all of it).")
@click.option("--max-units", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Units put into the page: the best-tracking first, then the others in order.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Write the report as JSON.")
@with_ascii
@with_blas_threads
def neurons(checkpoint, text, html_path, unit, top, max_chars, max_units, encoding, as_json):
    """What the units learned: run CHECKPOINT (default: the newest run's best) over TEXT (default:
    its validation split), rank its units by how well they track properties of the text (quotes,
    bracket depth, position in the line, word starts, code comments and strings, Japanese
    scripts), with intervals, and show how often each gate saturates."""
    from charrnn.reports.neurons import neurons_report
    from charrnn.training.runs import newest_best_checkpoint
    from charrnn.views.neurons import neurons_view
    from charrnn.views.pages import neurons_page
    from charrnn.views.progress import notes
    from charrnn.views.terminal import json_out, write_page

    if checkpoint is None:
        checkpoint = newest_best_checkpoint()
        click.echo(f"reading {checkpoint}", err=True)
    lines: list = []
    report = neurons_report(load_checkpoint(checkpoint), text, encoding, max_chars, max_units, lines, unit)
    notes(lines)
    if html_path:
        write_page(html_path, neurons_page(report))
    json_out(report) if as_json else neurons_view(report, coloured=unit is not None, top=top)


@main.command("page")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=str))
@click.argument("out", type=click.Path(dir_okay=False, path_type=str))
def page_command(checkpoint, out):
    """Write OUT: one self-contained HTML file that runs CHECKPOINT's model in the browser -- a
    prime, temperature, top-k and top-p, the text as it is sampled, the five likeliest characters
    at each step on hover. Nothing is fetched: the weights are inside (float16 where that keeps
    every probability within 0.001 of the model's, measured on its own text; else float32)."""
    from charrnn.reports.page import page_data
    from charrnn.views.model_page import model_page
    from charrnn.views.terminal import write_page

    ck = load_checkpoint(checkpoint)
    data = page_data(ck)
    text = model_page(data, ck.config.network.page_step(ck.config))
    probe = data["probe"]
    measured = (f"; float16 moved a probability by at most {probe['max_diff']:.1e} on {probe['steps']} steps"
                if probe["max_diff"] is not None else "")
    write_page(out, text, f": {len(text.encode()) / 2**20:.1f} MiB, weights in {data['precision']}{measured}")
