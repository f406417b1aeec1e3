"""Planning a training run before it starts: which text, which model, which options, which
budget, which directory -- for a fresh run or for a resumed one -- checked as a whole, so that a
mistake is refused before anything is written.

    plan_run(...) -> RunPlan       everything `Trainer` needs

A fresh run takes every option the user gave, the recipe's choices for the model and the
training options it decides (`recipe.choose`, from the corpus, the budget and, for --time, the
speeds measured here), and the defaults of `TrainOptions` for the rest. A resumed run takes the
checkpoint's model, options and recipe; options given again must agree where the saved state
depends on them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from charrnn.corpus import corpora, items
from charrnn.corpus.streams import Corpus, fit_batch_size, sha256_text, unigram_entropy
from charrnn.ground.errors import SettingsError, UserError
from charrnn.ground.fields import flag
from charrnn.ground.optim import make_optimizer
from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, cast_params, grow_vocab, init_params, zero_state
from charrnn.training import recipe as recipes
from charrnn.training.budget import Budget
from charrnn.training.checkpoint import Checkpoint
from charrnn.training.checkpoint import load as load_checkpoint
from charrnn.training.options import DTYPES, TrainOptions
from charrnn.training.recipe import Recipe
from charrnn.training.runs import new_run_dir, prepare_out_dir
from charrnn.training.step import train_step

# a fresh run with no --steps, --epochs or --time trains until the validation loss stops improving:
# PATIENCE evaluations without a new best, within a cap of CAP_SECONDS (the recipe plans for the cap)
PATIENCE = 5
CAP_SECONDS = 30 * 60.0


class ResumeError(UserError):
    """A resume whose corpus, model or options do not fit its checkpoint."""


@dataclass
class RunPlan:
    corpus_arg: str  # the corpus as the user can name it again (in the resume command)
    notes: list  # lines for the user about the text (a byte-order mark dropped, ...)
    corpus_info: dict  # name, path, encoding, normalize: stored in every checkpoint
    corpus: Corpus
    config: ModelConfig
    options: TrainOptions
    budget: Budget
    batch_size: int  # options.batch_size, or fewer streams when the text is short
    out_dir: str
    prior: Checkpoint | None  # the checkpoint resumed from
    val_unigram: float | None  # the validation split's unigram entropy, the baseline to beat
    recipe: Recipe | None = None  # how the model and options were chosen (None: a run from before recipes)
    spent: float = 0.0  # seconds of a fresh --time budget already spent planning (measuring speeds)
    init_params: dict | None = None  # a fine-tuned run's first weights (--init-from), else None: fresh ones
    parent: dict | None = None  # what the run was fine-tuned from (record.PARENT), kept by every checkpoint


def measure_speeds(shapes, vocab_size: int, batch_size: int, seq_len: int = recipes.SPEED_SEQ_LEN) -> dict:
    """Training chars/s of each (cell, layers, hidden) on this machine: two timed steps on random
    text after one untimed one, the faster counted (a step is too short for the mean to help)."""
    speeds = {}
    rng = np.random.default_rng(0)
    for cell, L, H in shapes:
        config = ModelConfig(vocab_size=vocab_size, cell=cell, num_layers=L, hidden_size=H)
        params = init_params(config, rng)
        opt = make_optimizer("adam", recipes.LR)
        ids = rng.integers(0, vocab_size, size=(seq_len + 1, batch_size)).astype(np.intp)
        state = zero_state(config, batch_size)
        best = math.inf
        for i in range(3):
            t0 = time.perf_counter()
            train_step(params, config, opt, ids, state, lr=recipes.LR, clip=5.0, rng=rng, state_reset=0.0)
            if i:
                best = min(best, time.perf_counter() - t0)
        speeds[(cell, L, H)] = seq_len * batch_size / best
    return speeds


def plan_run(corpus: str | None, *, resume: str | None = None, out: str | None = None,
             encoding: str = "utf-8", model_given: dict | None = None,
             options_given: dict | None = None, steps: int | None = None,
             epochs: int | None = None, time_budget: float | None = None,
             progress=None, measure_speeds=measure_speeds, read_as: str | None = None,
             init_from: str | None = None) -> RunPlan:
    """Check everything and create the run directory; raise a UserError for anything wrong.
    `model_given` / `options_given` hold only what the user gave explicitly; a fresh run's
    recipe (`recipe.choose`) fills in the rest. `read_as` "lines" or "stream" forces how the
    text is read (--lines, --stream); None lets a fresh run judge (corpus/items.py). `init_from`
    starts a new run from a trained model's weights (fine-tuning: plan_fresh)."""
    model_given = {k: v for k, v in (model_given or {}).items() if v is not None}
    options_given = {k: v for k, v in (options_given or {}).items() if v is not None}
    budget_given = (steps, epochs, time_budget)
    if resume and init_from:
        raise SettingsError("--init-from starts a new run from a trained model, --resume continues a run: give one")
    if resume:
        plan = plan_resume(load_checkpoint(resume), corpus, encoding, out, model_given, options_given, budget_given,
                           progress, read_as)
    else:
        plan = plan_fresh(corpus, encoding, out, model_given, options_given, budget_given, progress, measure_speeds,
                          read_as, load_checkpoint(init_from) if init_from else None)
    prepare_out_dir(plan.out_dir, resuming=plan.prior is not None)
    return plan


def plan_fresh(corpus: str | None, encoding: str, out: str | None, model_given: dict, options_given: dict,
               budget_given: tuple, progress, measure_speeds, read_as: str | None,
               parent: Checkpoint | None = None) -> RunPlan:
    """A new run: the text read (as a list or a running text), the budget set, and the recipe's
    choices for what was not given (a time budget measures the candidates' speeds first, and
    that time counts). With a `parent` (--init-from), its network, layers and size are kept and
    its weights are the start (fine_tuning)."""
    if parent is not None:
        model_given, options_given = fine_tuning_given(parent, model_given, options_given)
    options = TrainOptions(**options_given)  # the recipe's choices replace some of these below
    source = corpora.load(corpus, encoding, progress=progress, normalize=options.normalize)
    verdict = items.judge(source.text) if read_as is None else items.Verdict(read_as == "lines", f"--{read_as}")
    vocab = None if parent is None else union_vocab(parent, source.text, verdict.is_list)
    if verdict.is_list:
        data = items.ItemCorpus.from_text(source.text, options.val_frac, vocab=vocab)
        model_given = {"item_start": data.vocab.index[items.SEP], **model_given}
        options_given = {"state_reset": 0.0, **options_given}  # items start afresh by themselves
    else:
        data = Corpus.from_text(source.text, options.val_frac, vocab=vocab)
    steps, epochs, time_budget = budget_given
    patience = None
    if not (steps or epochs or time_budget):
        time_budget, patience = CAP_SECONDS, PATIENCE
    budget = Budget(end_step=steps, end_epoch=epochs, end_time=time_budget, patience=patience)
    started = time.monotonic()
    kept = {k: getattr(parent.config, k) for k in KEPT} if parent is not None else {}
    recipe = choose_recipe(data, len(source.text.encode("utf-8", "surrogatepass")), budget,
                           {k: v for k, v in {**model_given, **options_given}.items() if k not in kept}, measure_speeds,
                           verdict, kept, parent)
    if recipe.passes is not None and budget.end_epoch is None:  # it ends before the budget
        budget = dataclasses.replace(budget, end_epoch=recipe.passes)
    options = TrainOptions(**{**recipe.train_values(), **options_given})
    try:
        config = ModelConfig(vocab_size=len(data.vocab), **{**recipe.model_values(), **model_given})
    except ValueError as e:  # options that do not fit together, e.g. --cell lstm --activation relu
        raise SettingsError(str(e)) from None
    plan = RunPlan(corpus_arg=corpus or corpora.DEFAULT, notes=source.notes, corpus_info=corpus_info(source, data),
                   corpus=data, config=config, options=options, budget=budget,
                   batch_size=fit_batch_size(len(data.train), options.batch_size, options.seq_len),
                   out_dir=out or new_run_dir(source.name), prior=None, val_unigram=val_unigram(data, config),
                   recipe=recipe, spent=time.monotonic() - started if time_budget else 0.0)
    return plan if parent is None else fine_tuning(plan, parent)


# a fine-tuned run keeps these of the model it starts from: its network and its shape
KEPT = ("cell", "num_layers", "hidden_size", "activation", "gate_activation", "context")


def fine_tuning_given(parent: Checkpoint, model_given: dict, options_given: dict) -> tuple[dict, dict]:
    """What a fine-tuned run takes from its parent (--init-from): its network and shape (a shape
    option that disagrees is refused), and its normalization unless --normalize is given."""
    for k, v in model_given.items():
        if k in KEPT and v != getattr(parent.config, k):
            raise SettingsError(f"{flag(k)} {v} differs from {parent.path}'s {getattr(parent.config, k)}; "
                                f"fine-tuning keeps the model it starts from (network, layers and size)")
    return ({**{k: getattr(parent.config, k) for k in KEPT}, **model_given},
            {"normalize": parent.normalization, **options_given})


def union_vocab(parent: Checkpoint, text: str, is_list: bool) -> Vocab:
    """The parent's characters and the new text's (and, for a list, its line break)."""
    return Vocab(sorted(set(parent.vocab.chars) | set(text) | ({items.SEP} if is_list else set())))


def fine_tuning(plan: RunPlan, parent: Checkpoint) -> RunPlan:
    """The plan of a run that starts from `parent`'s weights: its characters keep their rows and
    columns, the new text's new ones start as a fresh model's (model.grow_vocab); one note says
    how many were added."""
    old, new = parent.vocab.chars, plan.corpus.vocab.chars
    added = [c for c in new if c not in parent.vocab.index]
    rng = np.random.default_rng(plan.options.seed)
    weights = grow_vocab(cast_params(parent.params, DTYPES[plan.options.dtype]), plan.config, old, new, rng)
    shown = ", ".join(repr(c) for c in added[:12]) + (" ..." if len(added) > 12 else "")
    note = (f"fine-tuning {parent.config.label()} from {parent.path}: "
            + (f"{len(added)} new character(s) ({shown}) start as a fresh model's" if added else "no new characters"))
    record = {"checkpoint": os.path.abspath(parent.path), "label": parent.config.label(),
              "corpus": parent.corpus.get("name"), "corpus_sha256": parent.corpus.get("sha256"),
              "recipe": parent.train.recipe.line() if parent.train and parent.train.recipe else None,
              "step": parent.train.step if parent.train else None, "added_chars": len(added),
              **({"parent": parent.train.parent} if parent.train and parent.train.parent else {})}
    return dataclasses.replace(plan, notes=plan.notes + [note], init_params=weights, parent=record)


def plan_resume(prior: Checkpoint, corpus: str | None, encoding: str, out: str | None, model_given: dict,
                options_given: dict, budget_given: tuple, progress, read_as: str | None) -> RunPlan:
    """A run resumed: the checkpoint's model, options and recipe, on its own text (found again,
    or given again and checked), with what is left of its budget or as much more as asked."""
    if prior.train is None:
        raise ResumeError(f"{prior.path} holds weights only, no training state to resume")
    check_fixed_options(prior, options_given)
    options = dataclasses.replace(prior.train.options, **options_given)
    if corpus is None:  # the text the run was trained on
        source = corpora.of_checkpoint(prior)
        corpus = source.path or source.name
    else:
        source = corpora.load(corpus, encoding, progress=progress, normalize=options.normalize)
    config = check_resume(prior, model_given, source.text)
    if read_as is not None and (read_as == "lines") != (config.item_start is not None):
        raise ResumeError(f"--{read_as}: {prior.path} read its text as "
                          f"{'a list' if config.item_start is not None else 'a running text'}; a resumed run keeps it")
    reading = items.ItemCorpus if config.item_start is not None else Corpus
    data = reading.from_text(source.text, options.val_frac, vocab=prior.vocab)
    # a resume goes on with the streams its carried state holds (load checked that count against
    # the record); recomputing it from the options breaks where the options lost their batch_size
    notes = source.notes + ([] if prior.verified else [f"note: {prior.path} was saved before checkpoints carried a "
                                                        f"checksum; it loads unchecked"])
    return RunPlan(corpus_arg=corpus, notes=notes, corpus_info=corpus_info(source, data), corpus=data,
                   config=config, options=options, budget=resume_budget(prior, *budget_given),
                   batch_size=prior.train.batch_size, out_dir=out or os.path.dirname(os.path.abspath(prior.path)),
                   prior=prior, val_unigram=val_unigram(data, config), recipe=prior.train.recipe,
                   parent=prior.train.parent)


def list_line(data, verdict: items.Verdict) -> str | None:
    """How the recipe line names a list ("a list of 32,033 items, 29,494 distinct"); None for a
    running text."""
    if not verdict.is_list:
        return None
    s = data.summary()
    blank = f", {s['blank_lines']:,} blank lines skipped" if s["blank_lines"] else ""
    forced = " (--lines)" if verdict.why == "--lines" else ""
    return f"a list{forced} of {s['items']:,} items, {s['distinct_train'] + s['distinct_val']:,} distinct{blank}"


def corpus_info(source, data) -> dict:
    """What every checkpoint stores of where its text came from (and of a list, its counts)."""
    info = {"name": source.name, "path": source.path, "encoding": source.encoding, "normalize": source.normalize}
    return {**info, "items": data.summary()} if isinstance(data, items.ItemCorpus) else info


def val_unigram(data: Corpus, config: ModelConfig) -> float | None:
    """The validation split's unigram entropy: the baseline to beat (None without a split)."""
    return unigram_entropy(data.val, config.vocab_size) if len(data.val) > 1 else None


def choose_recipe(data: Corpus, corpus_bytes: int, budget: Budget, given: dict, measure_speeds,
                  verdict: items.Verdict, kept: dict | None = None, parent: Checkpoint | None = None) -> Recipe:
    """The recipe for a fresh run; a time budget first measures the candidates' speeds here."""
    V = len(data.vocab)
    try:
        speeds = None
        if budget.end_time is not None:
            fixed = {**(kept or {}), **given}  # a fine-tuned run's model is its parent's: measure that
            shapes = recipes.candidate_shapes(fixed)
            B = given.get("batch_size", recipes.BATCH_SIZE)
            spent = budget.end_time if budget.patience is None else None  # a plateau's cap is not spent
            speeds = measure_speeds(recipes.worth_measuring(shapes, V, len(data.train), spent, fixed), V, B)
            if budget.patience is None:
                larger = recipes.worth_measuring_larger(shapes, V, len(data.train), budget.end_time, speeds, fixed,
                                                        verdict.is_list)
                speeds = {**speeds, **measure_speeds(larger, V, B)} if larger else speeds
        return recipes.choose(train_chars=len(data.train), val_chars=len(data.val), vocab_size=V,
                              seconds=budget.end_time, steps=budget.end_step, epochs=budget.end_epoch,
                              given=given, speeds=speeds, corpus_bytes=corpus_bytes,
                              patience=budget.patience, list_of=list_line(data, verdict), kept=kept,
                              fine_tuning=f"fine-tuning from {parent.path}: its network and size" if parent else None)
    except ValueError as e:  # a model the given options make impossible, e.g. --cell jordan --num-layers 2
        raise SettingsError(str(e)) from None


def check_fixed_options(prior: Checkpoint, options_given: dict) -> None:
    """Options the saved state depends on may not change on a resume."""
    saved = prior.train.options  # an older checkpoint's missing options took their defaults
    for k in TrainOptions.FIXED_ON_RESUME:
        if k in options_given and options_given[k] != getattr(saved, k):
            raise ResumeError(f"{flag(k)} {options_given[k]} differs from the checkpoint's "
                              f"{getattr(saved, k)}; a resumed run keeps it")


def check_resume(prior: Checkpoint, model_given: dict, text: str) -> ModelConfig:
    """Refuse a resume whose corpus or model does not fit the checkpoint; return its config."""
    path = prior.path
    if prior.corpus.get("sha256") != sha256_text(text):
        raise ResumeError(f"{path} was trained on a different corpus "
                          f"({prior.corpus.get('name', '?')}); resume it with the same text")
    config = prior.config
    for k, v in model_given.items():
        if getattr(config, k) != v:
            raise ResumeError(f"{flag(k)} {v} differs from the checkpoint's "
                              f"{getattr(config, k)}; a resumed run keeps its model")
    return config


def resume_budget(prior: Checkpoint, steps, epochs, time_budget) -> Budget:
    """No budget options: finish the saved budget. Otherwise: this much *more* training."""
    t = prior.train
    if not (steps or epochs or time_budget):
        if t.budget.reached(t.step, t.epoch, t.elapsed):
            raise ResumeError(f"{prior.path} finished its budget; add --steps, --epochs or --time to train more")
        return dataclasses.replace(t.budget)
    return Budget(
        end_step=t.step + steps if steps else None,
        end_epoch=t.epoch + epochs if epochs else None,
        end_time=t.elapsed + time_budget if time_budget else None,
        start_step=t.step, start_epoch=float(t.epoch), start_time=t.elapsed,
        start_sample_prob=t.sample_prob,  # the scheduled-sampling ramp goes on from where it stood
    )
