"""The recipe: which model to train and how, chosen for the user's corpus and budget when they
leave it out. Options given explicitly always win; the recipe fills in the rest.

What is known before training starts: the training split's length N (characters), the
validation split's, the vocabulary V, the budget (--time seconds, --steps or --epochs), and,
for a time budget, this machine's speed for each candidate model (measured at the start, a
fraction of a second each). From these the rule works out, for every candidate,

    D = the characters it will read:  seconds * speed   |   steps * B * T   |   epochs * N
    P = its parameter count           (model.param_shapes)
    E = D / N, the passes over the training text it will make

and chooses the largest candidate (most parameters) that satisfies both

    D / P >= CHARS_PER_PARAM     it reads enough to use its size: a larger model that sees too
                                 few characters ends the budget less trained than a smaller one
                                 that saw more (loss falls with both size and data; at a fixed
                                 budget, size costs data)
    P <= PARAMS_PER_CHAR * N     a text read many times is memorised by a model with room for it

or the smallest candidate when none does. The constants were fitted to the measurements in the
README (corpus x budget x candidate -> validation loss). Then, for a time budget, a network may
train in place of the chosen one at the same shape, where its declaration says so
(its policy's `replaces`: it beat that choice at equal time in the rows measured at those budgets);
the line says why, and its measured speed sets the passes, the dropout and the evaluations.

A small text and a long time budget are the exception (`larger_for_long_budget`): there the
rule's choice reads the text hundreds of times and stops improving long before the budget ends
(on the 60 KB piece of tinyshakespeare it was no better at 10 minutes than at 2), while a model
too large for the text by the rule above, with heavy dropout, does better. For a time budget of
LONG_SECONDS or more, when a larger candidate reads the text at least LONG_PASSES times and has
at most LONG_PARAMS_PER_CHAR * N parameters, the largest such one trains, with dropout
LONG_DROPOUT, and a declared replacement of its shape trains in its place within the
replacement's budgets, as above. Fitted to 5- and 10-minute runs on three pieces of 50-80 KB
(a GRU 1x512 beat the rule's GRU 1x128 at 78 to 231 passes, and the mLSTM 1x512 in its place,
with the same dropout, beat it again; the runs: docs/recipe.md); a run with no budget, which stops at a plateau,
keeps the rule's choice, unreplaced.

A large text and a long time budget meet the other limit: a model that fits the text by the rule
reads it many times and, as the cosine's rate falls, learns it by heart: without the weight decay
and averaging below, more passes ended worse, and with them no better (docs/recipe.md, "Large
texts at long budgets" and "Regularisation past ten passes"). So for a time budget of LONG_SECONDS or more on a
text of MOST_PASSES_FROM_CHARS characters or more, the run is planned for at most MOST_PASSES
passes, its schedule decays over them, and it ends there, before the budget: more time never
plans a run that the measurements say ends worse. The small-text branch is exempt (its heavy
dropout keeps it level from 49 to 231 passes), and so are smaller texts, where it is unmeasured.

Regularisation follows E: a run that reads each character about once has nothing to overfit and
trains without dropout; the more passes, the more dropout. A time budget's run also decays its
weight matrices (WEIGHT_DECAY, decoupled, AdamW's), and from LONG_SECONDS on it evaluates and
keeps a moving average of its weights (AVERAGE), except in the small-text branch and for lists,
where neither is measured (the runs: docs/recipe.md, "Regularisation past ten passes"); on the
2-minute quick start the average was not shown to be no worse.

Evaluation follows the budget and E:
about EVALS evaluations a run, more when the text is read many times (so that the best
checkpoint is caught before overfitting sets in), never more than EVAL_SHARE of a time budget.
The learning rate decays by a cosine over a time budget; a step or epoch budget keeps it
constant, so that N steps and a resume for N more give exactly the weights of 2N in one go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from charrnn import networks
from charrnn.ground.fields import flag
from charrnn.model import ModelConfig, param_shapes
from charrnn.training.options import MONITOR_CHARS
from charrnn.training.options import RECIPE_MODEL_FIELDS as MODEL_FIELDS
from charrnn.training.options import RECIPE_TRAIN_FIELDS as TRAIN_FIELDS

# (cell, layers, hidden): every network's `policy.recipe_shapes`, in the registry's order (README table)
CANDIDATES = tuple((net.name, L, H) for net in networks.NETWORKS.values() for L, H in net.policy.recipe_shapes)
# (cell, layers, hidden) chosen by the rule -> (the network that trains instead, its Replacement)
REPLACEMENTS = {(r.cell, r.layers, r.hidden): (net.name, r) for net in networks.NETWORKS.values()
                for r in net.policy.replaces}
CHARS_PER_PARAM = 4.0  # D / P at least this
PARAMS_PER_CHAR = 2.0  # P / N at most this
SEQ_LEN = 100
BATCH_SIZE = 32
LR = 4e-3
EVALS = 12  # evaluations in a run that reads its text about once
EVAL_SHARE = 0.05  # of a time budget, spent on evaluation at most
SPEED_SEQ_LEN = 25  # the window used to measure a candidate's speed (plan.measure_speeds)
PLATEAU_EVAL = 25  # with no budget given, evaluations at least this many steps apart
LONG_SECONDS = 300  # a larger model for a small text, for a time budget at least this long, ...
LONG_PASSES = 75  # ... when it can read the text this often ...
LONG_PARAMS_PER_CHAR = 25.0  # ... and has at most this many parameters per training character ...
LONG_DROPOUT = 0.5  # ... with this dropout
LIST_PASSES = 15  # a list: the branch takes the largest one-layer candidate that reads it this often
MOST_PASSES = 10  # a time budget of LONG_SECONDS or more ends after this many passes ...
MOST_PASSES_FROM_CHARS = 400_000  # ... over a training text at least this long
WEIGHT_DECAY = 0.1  # decoupled weight decay of a time budget's run, outside the small-text branch and lists ...
AVERAGE = 0.998  # ... and, from LONG_SECONDS on, its weight averaging (ground/optim.average_into's decay)


def regularisation_note(values: dict) -> str:
    """", weight decay 0.1, average 0.998" where the run decays or averages its weights (a recipe
    from before either has neither)."""
    wd, average = values.get("weight_decay", 0.0), values.get("average", 0.0)
    return (f", weight decay {wd:g}" if wd else "") + (f", average {average:g}" if average else "")


def describe_budget(seconds: float | None, steps: int | None, epochs: int | None) -> str:
    if seconds is not None:
        return f"{seconds / 60:.3g} min budget" if seconds >= 60 else f"{seconds:.3g} s budget"
    return f"{steps} steps" if steps is not None else f"{epochs} epochs"


@dataclass(frozen=True)
class Recipe:
    values: dict  # field -> value, for every field in MODEL_FIELDS + TRAIN_FIELDS
    chosen: tuple  # the fields the recipe chose (the others were given)
    reason: str  # what it was chosen for, e.g. "1.12 MB corpus, 5 min budget, ~1.9 passes"
    measured: dict = field(default_factory=dict)  # "gru 1x256" -> chars/s measured at the start (--time)
    passes: float | None = None  # the run ends after this many passes over the text, before its budget
    kept: tuple = ()  # the fields a fine-tuned run keeps from the model it starts from (--init-from)

    def model_values(self) -> dict:
        return {k: self.values[k] for k in MODEL_FIELDS}

    def train_values(self) -> dict:
        return {k: self.values[k] for k in TRAIN_FIELDS if k in self.values}  # weight_decay, average: not in older ones

    def line(self) -> str:
        """The one line printed at the start of a run and shown by `charrnn info`."""
        v = self.values
        model = f"{v['cell'].upper()} {v['num_layers']}x{v['hidden_size']}"
        given = [k for k in MODEL_FIELDS + TRAIN_FIELDS if k in v and k not in self.chosen and k not in self.kept]
        given_note = f"; given: {', '.join(flag(k) for k in given)}" if given else ""
        return (f"{model}, B={v['batch_size']}, T={v['seq_len']}, Adam {short_float(v['lr'])} {v['lr_schedule']}, "
                f"dropout {v['dropout']:g}{regularisation_note(v)}, eval every {v['eval_every']} steps ({self.reason}{given_note})")

    def to_dict(self) -> dict:
        return {"values": dict(self.values), "chosen": list(self.chosen), "reason": self.reason,
                "measured": dict(self.measured), "passes": self.passes, **({"kept": list(self.kept)} if self.kept else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        return cls(values=dict(d["values"]), chosen=tuple(d["chosen"]), reason=d["reason"],
                   measured=dict(d.get("measured", {})), passes=d.get("passes"), kept=tuple(d.get("kept", ())))


@dataclass
class Candidate:
    cell: str
    num_layers: int
    hidden_size: int
    params: int = 0
    chars: float = 0.0  # D
    speed: float | None = None  # chars/s, measured (time budgets only)
    fits: bool = False


def param_count(cell: str, num_layers: int, hidden_size: int, vocab_size: int) -> int:
    config = ModelConfig(vocab_size=vocab_size, cell=cell, num_layers=num_layers, hidden_size=hidden_size)
    return sum(math.prod(shape) for shape in param_shapes(config).values())


def dropout_for(passes: float) -> float:
    """Each character read once: nothing to overfit, no dropout. Then 0.1 more for every
    eightfold of the passes: 0.1 up to 8 passes, 0.2 up to 64, 0.3 beyond."""
    if passes <= 1.0:
        return 0.0
    return round(min(0.1 * math.ceil(math.log(passes, 8)), 0.3), 2)


def eval_every_for(steps: int, epochs: float, eval_seconds: float | None, seconds: float | None) -> int:
    """Steps between evaluations: EVALS a run, two a pass when passes are many, within EVAL_SHARE."""
    evals = max(EVALS, 2 * epochs)
    if seconds is not None and eval_seconds:
        evals = min(evals, max(3.0, EVAL_SHARE * seconds / eval_seconds))
    return max(1, int(steps // evals))


def choose(*, train_chars: int, val_chars: int, vocab_size: int, seconds: float | None = None,
           steps: int | None = None, epochs: int | None = None, given: dict | None = None,
           speeds: dict | None = None, corpus_bytes: int | None = None, patience: int | None = None,
           list_of: str | None = None, fine_tuning: str | None = None, kept: dict | None = None) -> Recipe:
    """The recipe for this corpus and budget (the first of seconds, steps, epochs given is the
    one planned for). `given` holds what the user gave explicitly (model and training fields
    alike); `speeds` maps (cell, layers, hidden) to measured training chars/s at the recipe's
    batch size (needed for a time budget; a candidate without one is not chosen); `patience`:
    the budget is only a cap, and the run stops after this many evaluations find no better
    validation loss. `list_of` names a list (plan.list_line), which is then trained as items.
    `kept` holds the model fields a fine-tuned run keeps from the model it starts from, which
    `fine_tuning` names (plan.plan_fresh): the rest is chosen for the new text and budget."""
    if seconds is None and steps is None and epochs is None:
        raise ValueError("a recipe needs a budget: seconds, steps or epochs")
    given = {**(kept or {}), **(given or {})}
    N = max(train_chars, 1)
    B, T = given.get("batch_size", BATCH_SIZE), given.get("seq_len", SEQ_LEN)
    candidates = sized_candidates(given, vocab_size, N, B * T, seconds, steps, epochs, speeds)
    pick, branch, why = pick_model(candidates, N, vocab_size, seconds, given, speeds, patience is not None,
                                   list_of is not None)
    full_passes = passes = pick.chars / N
    most = most_passes(N, seconds, passes, branch=branch)
    if most is not None:
        passes = most
        pick.chars = most * N
    eval_seconds = None
    if seconds is not None and pick.speed:
        eval_seconds = min(val_chars, MONITOR_CHARS) / (2.0 * pick.speed)  # forward only: about twice as fast
    evals_over = seconds if most is None or seconds is None else pick.chars / pick.speed
    values = {
        "cell": pick.cell, "num_layers": pick.num_layers, "hidden_size": pick.hidden_size,
        "dropout": LONG_DROPOUT if branch else dropout_for(passes), "batch_size": B, "seq_len": T, "lr": LR,
        "lr_schedule": "cosine" if seconds is not None else "constant",
        "eval_every": eval_every_for(max(1, int(pick.chars // (B * T))), passes, eval_seconds, evals_over),
    }
    measured_here = seconds is not None and not branch and list_of is None  # where both were measured
    values.update(weight_decay=WEIGHT_DECAY if measured_here else 0.0,
                  average=AVERAGE if measured_here and seconds >= LONG_SECONDS else 0.0)
    if patience is not None:  # evaluations far enough apart that the noise of a few steps cannot end it
        values["eval_every"] = max(values["eval_every"], PLATEAU_EVAL)
    values.update({k: v for k, v in given.items() if k in values})
    size = corpus_bytes if corpus_bytes is not None else train_chars
    reason = describe(list_of or f"{human_size(size)} corpus", seconds, steps, epochs, passes, full_passes, most,
                      patience) + (f"; {why}" if why else "") + (f"; {fine_tuning}" if fine_tuning else "")
    measured = {f"{c} {L}x{H}": round(v, 1) for (c, L, H), v in (speeds or {}).items()}
    return Recipe(values=values, chosen=tuple(k for k in MODEL_FIELDS + TRAIN_FIELDS if k not in given),
                  reason=reason, measured=measured, passes=most, kept=tuple(k for k in (kept or {}) if k in values))


def sized_candidates(given: dict, V: int, N: int, window_chars: int, seconds, steps, epochs, speeds) -> list:
    """The candidates with their size, the characters each would read in the budget (D) and
    whether it fits: D >= CHARS_PER_PARAM * P and P <= PARAMS_PER_CHAR * N."""
    candidates = [Candidate(c, L, H) for c, L, H in candidate_shapes(given)]
    for c in candidates:
        c.params = param_count(c.cell, c.num_layers, c.hidden_size, V)
        if seconds is not None:
            c.speed = (speeds or {}).get((c.cell, c.num_layers, c.hidden_size))
            c.chars = seconds * c.speed if c.speed else 0.0
        elif steps is not None:
            c.chars = float(steps * window_chars)
        else:
            c.chars = float(epochs * N)
        c.fits = c.chars >= CHARS_PER_PARAM * c.params and c.params <= PARAMS_PER_CHAR * N
    return candidates


def pick_model(candidates: list, N: int, V: int, seconds, given: dict, speeds, until_plateau: bool, is_list: bool):
    """(the candidate that trains, whether the small-text branch chose it, why -- or "" for the
    rule's own choice). The rule: the largest candidate that fits, else the smallest measured;
    then the long-budget branch for a small text; then a declared replacement."""
    fitting = [c for c in candidates if c.fits]
    measured = [c for c in candidates if c.chars > 0] or candidates
    pick = max(fitting, key=lambda c: c.params) if fitting else min(measured, key=lambda c: c.params)
    why = ""
    larger = None if until_plateau else larger_for_long_budget(candidates, pick, N, seconds, is_list)
    if larger is not None:
        why = (f"{larger.cell} {larger.num_layers}x{larger.hidden_size} with dropout {LONG_DROPOUT:g} for "
               f"{pick.cell} {pick.num_layers}x{pick.hidden_size}, which would read the text ~{pick.chars / N:.0f} times")
        pick = larger
    # a run with no budget stops at a plateau: a replacement was measured over time budgets spent
    instead = replacement(pick.cell, pick.num_layers, pick.hidden_size, None if until_plateau else seconds, given)
    if instead is not None and (speeds or {}).get(instead[0]):
        (cell, L, H), instead_why = instead
        why = f"{why}; {instead_why}" if why else instead_why
        speed = speeds[(cell, L, H)]
        pick = Candidate(cell, L, H, param_count(cell, L, H, V), seconds * speed, speed, pick.fits)
    return pick, larger is not None, why


def describe(text: str, seconds, steps, epochs, passes: float, full_passes: float, most, patience) -> str:
    """The recipe line's reason: "1.12 MB corpus, 5 min budget, ~1.9 passes", or for a run given no
    budget "..., until 5 evaluations find no better validation loss, at most 30 min"."""
    shown_passes = f"{passes:.2g}" if passes < 10 else f"{passes:.0f}"
    if patience is not None:
        cap = describe_budget(seconds, steps, epochs).replace(" budget", "") + (f" or {most:g} passes" if most else "")
        return f"{text}, until {patience} evaluations find no better validation loss, at most {cap}"
    reason = f"{text}, {describe_budget(seconds, steps, epochs)}, ~{shown_passes} passes"
    if most is not None and epochs is not None:  # --epochs beside --time replaces the limit (plan.plan_fresh)
        reason += f" planned, then ends after the {epochs:g} given (--epochs)"
    elif most is not None:
        reason += (f", then ends: the budget would read it ~{full_passes:.0f} times, "
                   f"and more than {MOST_PASSES} passes have not paid on a text this size")
    return reason


def most_passes(N: int, seconds: float | None, passes: float, branch: bool) -> float | None:
    """MOST_PASSES where a time budget of LONG_SECONDS or more would read a text of
    MOST_PASSES_FROM_CHARS characters or more more often than that, outside the small-text branch;
    else None (the budget alone ends the run)."""
    if (seconds is None or seconds < LONG_SECONDS or branch or N < MOST_PASSES_FROM_CHARS
            or passes <= MOST_PASSES):
        return None
    return float(MOST_PASSES)


def larger_for_long_budget(candidates: list, pick: Candidate, N: int, seconds: float | None,
                           is_list: bool = False) -> Candidate | None:
    """The largest candidate larger than the rule's pick that reads the text at least LONG_PASSES
    times within the time budget and has at most LONG_PARAMS_PER_CHAR * N parameters, or None.
    Time budgets of LONG_SECONDS or more only: it was measured at 5 and 10 minutes, with a time
    budget's cosine schedule; at 2 minutes larger GRUs lost to the rule's choice on the 60 KB piece.

    A list's items are short and many: the largest one-layer candidate that reads it at least
    LIST_PASSES times. On names.txt at 5 minutes that is the GRU 1x512 (26 passes), trained as the
    mLSTM 1x512 that replaces it, with dropout 0.5, which scored below the rule's GRU 1x256 and a
    GRU 1x384 (docs/recipe.md, "Lists"; benchmarks/results/makemore-explore.jsonl). Multi-layer candidates were not
    measured on lists, so the branch leaves them out."""
    if seconds is None or seconds < LONG_SECONDS:
        return None
    passes = LIST_PASSES if is_list else LONG_PASSES
    larger = [c for c in candidates if c.params > pick.params and c.chars >= passes * N
              and c.params <= LONG_PARAMS_PER_CHAR * N and (c.num_layers == 1 or not is_list)]
    return max(larger, key=lambda c: c.params) if larger else None


def candidate_shapes(given: dict) -> list[tuple[str, int, int]]:
    """The candidates, narrowed to what the user fixed: a given cell, depth or width. Options that
    only some networks take (--context; --activation sigmoid) choose the first network of the
    registry that takes them all, when the candidates' own networks do not."""
    cell = given.get("cell")
    if cell is None and not all(networks.accepts(networks.get(c), given) for c, _, _ in CANDIDATES):
        cell = next((n.name for n in networks.NETWORKS.values() if networks.accepts(n, given)), None)
    shapes = []
    for c, L, H in CANDIDATES:
        c = cell or c
        most = networks.get(c).policy.max_layers
        L = given.get("num_layers", L if most is None else min(L, most))
        H = given.get("hidden_size", H)
        if (c, L, H) not in shapes:
            shapes.append((c, L, H))
    return shapes


def replacement(cell: str, layers: int, hidden: int, seconds: float | None, given: dict):
    """((cell, layers, hidden) of the network that trains in place of this choice, why), or None:
    only for a time budget within the replacement's, and when the user fixed no network."""
    if seconds is None or "cell" in given or (cell, layers, hidden) not in REPLACEMENTS:
        return None
    name, r = REPLACEMENTS[(cell, layers, hidden)]
    if not r.min_seconds <= seconds <= r.max_seconds or not networks.accepts(networks.get(name), given):
        return None
    return (name, layers, hidden), r.why


def worth_measuring(shapes, vocab_size: int, train_chars: int, seconds: float | None = None,
                    given: dict | None = None) -> list:
    """The shapes small enough to be chosen for this text (and always the smallest), and what
    would train in place of any of them for this budget."""
    sized = sorted(shapes, key=lambda s: param_count(*s, vocab_size))
    worth = [s for i, s in enumerate(sized) if i == 0 or param_count(*s, vocab_size) <= PARAMS_PER_CHAR * train_chars]
    return list(dict.fromkeys(worth + replacing(worth, seconds, given)))


def worth_measuring_larger(shapes, vocab_size: int, train_chars: int, seconds: float, speeds: dict,
                           given: dict | None = None, is_list: bool = False) -> list:
    """The shapes the long-budget branch could choose, and what would train in place of any of
    them for this budget, not yet measured: only where the fastest model measured (the smallest)
    reads the text LONG_PASSES times in the budget (a list: LIST_PASSES), since a larger one reads
    it no faster (so a large text measures nothing more)."""
    passes = LIST_PASSES if is_list else LONG_PASSES
    if not speeds or seconds < LONG_SECONDS or seconds * max(speeds.values()) < passes * train_chars:
        return []
    larger = [s for s in shapes if param_count(*s, vocab_size) <= LONG_PARAMS_PER_CHAR * train_chars]
    return [s for s in dict.fromkeys(larger + replacing(larger, seconds, given)) if s not in speeds]


def replacing(shapes, seconds: float | None, given: dict | None) -> list:
    """The (cell, layers, hidden) that would train in place of any of these shapes for this budget."""
    return [r[0] for r in (replacement(*s, seconds, given or {}) for s in shapes) if r is not None]


def short_float(x: float) -> str:
    """0.004 -> 4e-3, 0.0025 -> 2.5e-3, 0.1 -> 0.1"""
    if x == 0 or 0.01 <= abs(x) < 1000:
        return f"{x:g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def human_size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"
