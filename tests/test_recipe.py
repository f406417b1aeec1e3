"""The recipe: the model and options a fresh run chooses from its corpus and budget."""

import json

import numpy as np
import pytest

from charrnn.training import recipe
from charrnn.training.checkpoint import load
from charrnn.training.plan import measure_speeds, plan_run
from charrnn.training.budget import Stop
from charrnn.training.recipe import CANDIDATES, MODEL_FIELDS, TRAIN_FIELDS, choose, param_count
from conftest import PANGRAMS, invoke, one_line_error

# chars/s falling with size as on a 2-core machine; the rule only sees these numbers
SPEEDS = {shape: 6e9 / param_count(*shape, 65) for shape in CANDIDATES}
BIG = dict(train_chars=1_000_000, val_chars=111_000, vocab_size=65)
SMALL_TEXT = dict(train_chars=27_000, val_chars=3_000, vocab_size=65)


def model_size(r):
    return param_count(r.values["cell"], r.values["num_layers"], r.values["hidden_size"], 65)


def test_the_choice_is_deterministic_given_corpus_budget_and_speeds():
    a = choose(**BIG, seconds=300, speeds=SPEEDS)
    b = choose(**BIG, seconds=300, speeds=dict(SPEEDS))
    assert a == b and a.line() == b.line()
    assert set(a.values) == set(MODEL_FIELDS + TRAIN_FIELDS) and a.chosen == MODEL_FIELDS + TRAIN_FIELDS


def test_more_time_or_a_faster_machine_never_gives_a_smaller_model():
    sizes = [model_size(choose(**BIG, seconds=s, speeds=SPEEDS)) for s in (30, 120, 300, 600, 3600, 36000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    fast = {k: 4 * v for k, v in SPEEDS.items()}
    assert model_size(choose(**BIG, seconds=120, speeds=fast)) > model_size(choose(**BIG, seconds=120, speeds=SPEEDS))


def test_a_model_must_read_enough_characters_per_parameter():
    r = choose(**BIG, seconds=600, speeds=SPEEDS)
    chars = 600 * SPEEDS[(r.values["cell"], r.values["num_layers"], r.values["hidden_size"])]
    assert chars >= recipe.CHARS_PER_PARAM * model_size(r)
    bigger = [s for s in CANDIDATES if param_count(*s, 65) > model_size(r)]
    assert all(600 * SPEEDS[s] < recipe.CHARS_PER_PARAM * param_count(*s, 65) for s in bigger)


def test_a_small_corpus_gets_a_smaller_more_regularised_model_evaluated_more_often():
    big, small = choose(**BIG, seconds=120, speeds=SPEEDS), choose(**SMALL_TEXT, seconds=120, speeds=SPEEDS)
    usual = small
    assert model_size(usual) <= recipe.PARAMS_PER_CHAR * SMALL_TEXT["train_chars"] or model_size(usual) == min(
        param_count(*s, 65) for s in CANDIDATES)

    assert model_size(small) < model_size(big)
    assert small.values["dropout"] > big.values["dropout"]
    # an evaluation at least every other pass over the small text, so the best checkpoint is
    # caught before overfitting sets in (a fixed 500 steps would be 60 passes here)
    B, T = small.values["batch_size"], small.values["seq_len"]
    steps_per_pass = SMALL_TEXT["train_chars"] / (B * T)
    assert small.values["eval_every"] <= 2 * steps_per_pass


def test_one_pass_over_the_text_trains_without_dropout():
    r = choose(**BIG, steps=100)  # 100 x 32 x 100 = 320 K characters of a 1 M text
    assert r.values["dropout"] == 0.0
    assert "0.32 passes" in r.line() and "100 steps" in r.line()


@pytest.mark.parametrize("field,value", [("cell", "lstm"), ("num_layers", 3), ("hidden_size", 100),
                                         ("dropout", 0.25), ("batch_size", 8), ("seq_len", 50),
                                         ("lr", 1e-3), ("lr_schedule", "constant"), ("eval_every", 7)])
def test_an_option_given_explicitly_wins(field, value):
    r = choose(**BIG, seconds=120, speeds=SPEEDS, given={field: value})
    assert r.values[field] == value and field not in r.chosen
    assert f"given: --{field.replace('_', '-')}" in r.line()


def test_rnn_only_and_jordan_only_options_choose_that_cell():
    assert choose(**BIG, steps=50, given={"activation": "sigmoid"}).values["cell"] == "rnn"  # no gated candidate
    assert choose(**BIG, steps=50, given={"activation": "relu"}).values["cell"] == "gru"  # the gru takes relu
    assert choose(**BIG, steps=50, given={"context": 3}).values["cell"] == "jordan"  # only jordan takes it
    r = choose(**BIG, steps=50, given={"context": 4})
    assert r.values["cell"] == "jordan" and r.values["num_layers"] == 1


def test_a_time_budget_needs_measured_speeds_and_uses_the_smallest_without_them():
    r = choose(**BIG, seconds=120, speeds={CANDIDATES[0]: 1000.0})
    assert (r.values["cell"], r.values["num_layers"], r.values["hidden_size"]) == CANDIDATES[0]
    with pytest.raises(ValueError, match="budget"):
        choose(**BIG)


def evaluations(seconds: float) -> tuple[float, float]:
    """(evaluations planned, seconds one takes) for the recipe BIG text's choice at this budget."""
    r = choose(**BIG, seconds=seconds, speeds=SPEEDS)
    shape = (r.values["cell"], r.values["num_layers"], r.values["hidden_size"])
    steps = seconds * SPEEDS[shape] / (r.values["batch_size"] * r.values["seq_len"])
    return steps / r.values["eval_every"], min(BIG["val_chars"], recipe.MONITOR_CHARS) / (2 * SPEEDS[shape])


def test_evaluation_costs_at_most_a_share_of_a_time_budget():
    evals, eval_seconds = evaluations(1200)
    assert 3.0 < evals < recipe.EVALS  # the share, not the floor or the usual count, sets it here
    assert evals * eval_seconds == pytest.approx(recipe.EVAL_SHARE * 1200, rel=0.02)


def test_a_short_budget_still_evaluates_three_times():
    """Where even three evaluations cost more than the share, three it is: the floor."""
    evals, eval_seconds = evaluations(120)
    assert recipe.EVAL_SHARE * 120 / eval_seconds < 3.0
    assert 3.0 <= evals < 3.1


# ---------------------------------------------------------------------- through plan and CLI
def test_a_time_budget_measures_the_candidates_and_records_the_choice(corpus_file, tmp_path):
    measured = []

    def fake_speeds(shapes, V, B):
        measured.extend(shapes)
        return {s: SPEEDS[s] for s in shapes}

    plan = plan_run(str(corpus_file), out=str(tmp_path / "r"), time_budget=60.0, measure_speeds=fake_speeds)
    assert measured and plan.recipe is not None
    expected = choose(train_chars=len(plan.corpus.train), val_chars=len(plan.corpus.val),
                      vocab_size=plan.config.vocab_size, seconds=60.0,
                      speeds={s: SPEEDS[s] for s in measured}, corpus_bytes=len(corpus_file.read_bytes()))
    assert plan.recipe == expected
    assert plan.recipe.measured == {f"{c} {L}x{H}": round(SPEEDS[(c, L, H)], 1) for c, L, H in measured}
    for k in MODEL_FIELDS:
        assert getattr(plan.config, k) == expected.values[k]
    for k in TRAIN_FIELDS:
        assert getattr(plan.options, k) == expected.values[k]
    # only candidates small enough for a 5,400-character text are measured (and the smallest)
    assert all(param_count(*s, plan.config.vocab_size) <= recipe.PARAMS_PER_CHAR * len(plan.corpus.train)
               for s in measured[1:])


def test_measuring_real_speeds_gives_positive_rates():
    speeds = measure_speeds([("gru", 1, 8), ("lstm", 1, 8)], vocab_size=10, batch_size=2, seq_len=5)
    assert set(speeds) == {("gru", 1, 8), ("lstm", 1, 8)} and all(v > 0 for v in speeds.values())


def test_train_prints_the_recipe_and_info_and_resume_keep_it(corpus_file, tmp_path):
    out = tmp_path / "run"
    r = invoke("train", corpus_file, "--steps", "4", "--seq-len", "20", "--out", out)
    assert r.exit_code == 0, r.stderr
    line = next(l for l in r.stderr.splitlines() if l.startswith("recipe: "))
    assert "corpus, 4 steps" in line and "given: --seq-len" in line
    ck = load(str(out / "last.safetensors"))
    kept = ck.train.recipe
    assert ck.config.cell == kept.values["cell"] and ck.config.hidden_size == kept.values["hidden_size"]
    assert ck.train.options.eval_every == kept.values["eval_every"]
    info = invoke("info", out / "last.safetensors", "--json")
    assert json.loads(info.stdout)["recipe"]["line"] == line[len("recipe: "):]
    assert "recipe" in invoke("info", out / "last.safetensors").stdout
    r2 = invoke("train", corpus_file, "--resume", out / "last.safetensors", "--steps", "3")
    assert r2.exit_code == 0, r2.stderr
    assert f"recipe (kept from the checkpoint): {line[len('recipe: '):]}" in r2.stderr
    ck2 = load(str(out / "last.safetensors"))
    assert ck2.train.step == 7 and ck2.train.recipe == kept and ck2.config == ck.config


def test_quiet_leaves_the_recipe_line_out(corpus_file, tmp_path):
    r = invoke("train", corpus_file, "--steps", "2", "--seq-len", "20", "--quiet", "--out", tmp_path / "q")
    assert r.exit_code == 0 and "recipe" not in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["--cell", "jordan", "--num-layers", "2"], "one hidden layer"),
    (["--cell", "gru", "--context", "3"], "--context does not apply to the gru network"),
    (["--cell", "lstm", "--activation", "sigmoid"], "activation"),
])
def test_options_that_do_not_go_together_get_one_line(corpus_file, tmp_path, args, needle):
    for budget in (["--steps", "2"], ["--time", "5s"]):
        r = invoke("train", corpus_file, *budget, "--quiet", "--out", tmp_path / "x", *args)
        one_line_error(r, needle)
        assert r.exit_code == 2
        assert not (tmp_path / "x" / "last.safetensors").exists()


def test_a_bad_recipe_field_in_a_checkpoint_is_one_line(corpus_file, tmp_path):
    from charrnn.training import checkpoint

    out = tmp_path / "run"
    assert invoke("train", corpus_file, "--steps", "2", "--seq-len", "20", "--quiet", "--out", out).exit_code == 0
    ck = load(str(out / "last.safetensors"))
    ck.train.recipe.values["lr"] = "fast"
    checkpoint.save(ck, str(tmp_path / "bad.safetensors"))
    one_line_error(invoke("info", tmp_path / "bad.safetensors"), "train.recipe.values.lr")
    ck = load(str(out / "last.safetensors"))
    object.__setattr__(ck.train.recipe, "passes", -3)
    checkpoint.save(ck, str(tmp_path / "bad2.safetensors"))
    one_line_error(invoke("info", tmp_path / "bad2.safetensors"), "train.recipe.passes")


def shape(r):
    return r.values["cell"], r.values["num_layers"], r.values["hidden_size"]


def replacement_speeds():
    """SPEEDS plus a measured speed for each network that may train in place of a candidate."""
    extra = {(name, r.layers, r.hidden): 0.6 * SPEEDS[(r.cell, r.layers, r.hidden)]
             for name, r in recipe.REPLACEMENTS.values()}
    return {**SPEEDS, **extra}


def measuring(measured: list):
    """A stand-in for plan.measure_speeds: replacement_speeds(), recording what was measured."""
    speeds = replacement_speeds()

    def measure(shapes, V, B):
        measured.extend(shapes)
        return {s: speeds[s] for s in shapes}
    return measure


def text_file(tmp_path, chars: int) -> str:
    path = tmp_path / f"pangrams-{chars}.txt"
    path.write_text(((PANGRAMS + "\n") * (chars // len(PANGRAMS) + 1))[:chars])
    return str(path)


@pytest.mark.parametrize("key", sorted(recipe.REPLACEMENTS))
def test_a_declared_replacement_trains_in_place_of_the_rules_choice_within_its_budgets(key):
    name, r = recipe.REPLACEMENTS[key]
    speeds = replacement_speeds()
    # a corpus and budget where the rule itself chooses the replaced shape
    seconds = next(s for s in np.linspace(r.min_seconds, r.max_seconds, 7)
                   if shape(choose(**BIG, seconds=s, speeds=SPEEDS)) == key)
    got = choose(**BIG, seconds=seconds, speeds=speeds)
    assert shape(got) == (name, r.layers, r.hidden)
    assert r.why in got.line()
    # its own measured speed sets the passes (and with them dropout and evaluations)
    passes = seconds * speeds[(name, r.layers, r.hidden)] / BIG["train_chars"]
    assert f"~{passes:.2g} passes" in got.line()
    # outside its budgets, with a network given, or for steps, the rule's choice stands
    for other in (dict(seconds=r.min_seconds - 1), dict(seconds=r.max_seconds + 1), dict(steps=3000)):
        assert choose(**BIG, speeds=speeds, **other).values["cell"] != name
    assert choose(**BIG, seconds=seconds, speeds=speeds, given={"cell": key[0]}).values["cell"] == key[0]
    # a run with no budget, planned for a cap within its budgets, stops at a plateau: not measured so
    assert shape(choose(**BIG, seconds=seconds, speeds=speeds, patience=5)) == key
    # it is measured at the start only where it could be chosen
    shapes = recipe.candidate_shapes({})
    assert (name, r.layers, r.hidden) in recipe.worth_measuring(shapes, 65, BIG["train_chars"], seconds, {})
    assert (name, r.layers, r.hidden) not in recipe.worth_measuring(shapes, 65, BIG["train_chars"], r.min_seconds - 1, {})


# ---------------------------------------------------------------------- small text, long budget
PIECE = dict(train_chars=54_000, val_chars=6_000, vocab_size=65)  # the 60 KB piece's training split


def test_a_small_text_and_a_long_budget_train_a_larger_model_with_heavy_dropout():
    seconds = 1800
    usual = choose(**PIECE, seconds=seconds, speeds=SPEEDS, patience=5)  # the rule's own choice
    got = choose(**PIECE, seconds=seconds, speeds=SPEEDS)
    assert model_size(got) > model_size(usual) > 0
    assert model_size(got) > recipe.PARAMS_PER_CHAR * PIECE["train_chars"]  # too large for the usual rule
    assert model_size(got) <= recipe.LONG_PARAMS_PER_CHAR * PIECE["train_chars"]
    assert seconds * SPEEDS[shape(got)] >= recipe.LONG_PASSES * PIECE["train_chars"]
    # the largest such: every larger candidate reads the text too few times or is too large
    for s in CANDIDATES:
        if param_count(*s, 65) > model_size(got):
            assert (seconds * SPEEDS[s] < recipe.LONG_PASSES * PIECE["train_chars"]
                    or param_count(*s, 65) > recipe.LONG_PARAMS_PER_CHAR * PIECE["train_chars"])
    assert got.values["dropout"] == recipe.LONG_DROPOUT > usual.values["dropout"]
    c, L, H = shape(usual)
    assert f"with dropout {recipe.LONG_DROPOUT:g} for {c} {L}x{H}" in got.line()
    # a given dropout still wins
    assert choose(**PIECE, seconds=seconds, speeds=SPEEDS, given={"dropout": 0.1}).values["dropout"] == 0.1


def test_the_long_budget_branch_needs_the_passes_a_time_budget_and_a_small_text():
    seconds = 1800
    usual = shape(choose(**PIECE, seconds=seconds, speeds=SPEEDS, patience=5))
    # a budget under LONG_SECONDS, even where a larger candidate would read the text often enough
    short = recipe.LONG_SECONDS - 1
    assert any(short * SPEEDS[k] >= recipe.LONG_PASSES * PIECE["train_chars"]
               for k in CANDIDATES if param_count(*k, 65) > param_count(*usual, 65))
    assert shape(choose(**PIECE, seconds=short, speeds=SPEEDS)) == usual
    assert "with dropout" in choose(**PIECE, seconds=recipe.LONG_SECONDS, speeds=SPEEDS).line()
    # slower candidates, none of them reading the text LONG_PASSES times: the rule's choice
    slow = {k: v / 100 for k, v in SPEEDS.items()}
    assert shape(choose(**PIECE, seconds=seconds, speeds=slow)) == shape(
        choose(**PIECE, seconds=seconds, speeds=slow, patience=5))
    # steps and epochs: measured with a time budget's schedule only
    steps = int(seconds * SPEEDS[usual] / (32 * 100))
    assert "with dropout" not in choose(**PIECE, steps=steps).line()
    # a large text does not take it at the budgets measured (up to an hour)
    assert "with dropout" not in choose(**BIG, seconds=3600, speeds=SPEEDS).line()


def test_a_declared_replacement_trains_in_place_of_the_long_budget_branchs_model_within_its_budgets():
    """GRU 1x512 has a declared replacement at 5-10 minutes; the branch's GRU 1x512 is replaced
    there too (the 60 KB piece at 10 minutes: mLSTM 1x512 1.636 against GRU 1x512 1.773, both
    with dropout 0.5), with the branch's dropout and the replacement's own passes."""
    fast = {k: 10 * v for k, v in replacement_speeds().items()}  # GRU 1x512 reads the piece ~360 times in 5 min
    name, r = recipe.REPLACEMENTS[("gru", 1, 512)]
    for seconds in (300, 600):
        got = choose(**PIECE, seconds=seconds, speeds=fast)
        assert shape(got) == (name, 1, 512) and "with dropout" in got.line() and r.why in got.line()
        assert got.values["dropout"] == recipe.LONG_DROPOUT
        passes = seconds * fast[(name, 1, 512)] / PIECE["train_chars"]
        assert f"~{passes:.0f} passes" in got.line()
        # a network given, or the replacement not measured: the branch's own model
        assert shape(choose(**PIECE, seconds=seconds, speeds=fast, given={"cell": "gru"})) == ("gru", 1, 512)
        assert shape(choose(**PIECE, seconds=seconds, speeds={k: 10 * v for k, v in SPEEDS.items()})) == ("gru", 1, 512)
    # beyond the replacement's budgets the branch's GRU stands
    got = choose(**PIECE, seconds=r.max_seconds + 1, speeds=fast)
    assert shape(got) == ("gru", 1, 512) and r.why not in got.line()


def test_a_small_text_measures_the_larger_candidates_only_where_they_can_be_chosen(tmp_path):
    path = text_file(tmp_path, 60_000)
    for budget, patience_cap in ((1800.0, False), (600.0, False), (None, True)):
        measured = []
        plan = plan_run(path, out=str(tmp_path / f"r{budget}"), time_budget=budget, measure_speeds=measuring(measured))
        N, V = len(plan.corpus.train), plan.config.vocab_size
        larger = [s for s in measured if param_count(*s, V) > recipe.PARAMS_PER_CHAR * N]
        if patience_cap:  # no budget: stops at a plateau; the branch does not apply, nothing more is measured
            assert larger == [] and "with dropout" not in plan.recipe.line()
        else:
            replacements = {(n, r.layers, r.hidden) for n, r in recipe.REPLACEMENTS.values()}  # same shape as what they replace
            assert larger and all(param_count(*s, V) <= recipe.LONG_PARAMS_PER_CHAR * N for s in larger
                                  if s not in replacements)
            assert "with dropout" in plan.recipe.line() and plan.config.dropout == recipe.LONG_DROPOUT
            # what would replace the branch's model is measured within its budgets only
            replacing = [(n, r.layers, r.hidden) for n, r in recipe.REPLACEMENTS.values()
                         if r.min_seconds <= budget <= r.max_seconds]
            assert all(k in measured for k in replacing) and (budget != 600.0 or replacing)
            assert len(measured) == len(set(measured))
    # a large text measures only what the usual rule can choose
    assert recipe.worth_measuring_larger(CANDIDATES, 65, 1_000_000, 600, {CANDIDATES[0]: SPEEDS[CANDIDATES[0]]}) == []


@pytest.mark.parametrize("key", sorted(recipe.REPLACEMENTS))
def test_a_run_with_no_budget_neither_measures_nor_trains_a_replacement(tmp_path, key):
    """The cap a run with no budget is planned for is not a budget it spends (it stops at a
    plateau), and the replacements were measured over budgets spent."""
    name, r = recipe.REPLACEMENTS[key]
    path = text_file(tmp_path, 600_000)  # large enough for the replaced shape: P <= 2N
    measured = []
    plan = plan_run(path, out=str(tmp_path / "run"), measure_speeds=measuring(measured))
    assert plan.budget.patience is not None and key in measured
    assert (name, r.layers, r.hidden) not in measured and plan.config.cell != name
    # the same cap spent as a time budget: measured where its budgets reach it
    measured.clear()
    plan_run(path, out=str(tmp_path / "timed"), time_budget=plan.budget.end_time, measure_speeds=measuring(measured))
    assert ((name, r.layers, r.hidden) in measured) == (r.min_seconds <= plan.budget.end_time <= r.max_seconds)


# ---------------------------------------------------------------------- large text, long budget
def test_epochs_given_beside_a_time_budget_are_the_limit_the_line_names():
    """--epochs with --time replaces the pass limit (the plan still follows MOST_PASSES): the line
    says where the run ends, not the limit it no longer has."""
    got = choose(**BIG, seconds=3600, epochs=18, speeds=SPEEDS)
    assert f"~{recipe.MOST_PASSES} passes planned, then ends after the 18 given (--epochs)" in got.line()
    assert "overfit" not in got.line()
    assert got.values == choose(**BIG, seconds=3600, speeds=SPEEDS).values


def test_a_large_text_and_a_long_budget_end_after_the_most_passes_measured_to_help():
    """On tinyshakespeare more passes than 10 ended worse (without weight decay and averaging) or
    level (with them); so a long budget on a large text plans MOST_PASSES, ends there, and says why."""
    seconds = 3600
    speed = SPEEDS[shape(choose(**BIG, seconds=seconds, speeds=SPEEDS))]
    assert seconds * speed > recipe.MOST_PASSES * BIG["train_chars"]  # the budget would read it more often
    got = choose(**BIG, seconds=seconds, speeds=SPEEDS)
    assert got.passes == recipe.MOST_PASSES
    assert f"~{recipe.MOST_PASSES} passes, then ends" in got.line()
    assert f"more than {recipe.MOST_PASSES} passes have not paid on a text this size" in got.line()
    assert f"would read it ~{seconds * speed / BIG['train_chars']:.0f} times" in got.line()
    # the plan follows the passes it makes: dropout and evaluations as for a budget that reads it that often
    exact = choose(**BIG, seconds=recipe.MOST_PASSES * BIG["train_chars"] / speed, speeds=SPEEDS)
    assert exact.passes is None and got.values == exact.values
    # past the point where it binds, more time plans the same run
    for longer in (1.5 * seconds, 2 * seconds):
        assert choose(**BIG, seconds=longer, speeds=SPEEDS).values == got.values
    # a budget that reads the text fewer times, a short budget, steps, a smaller text: the budget ends it
    assert choose(**BIG, seconds=300, speeds=SPEEDS).passes is None
    fast = {k: 100 * v for k, v in SPEEDS.items()}
    assert choose(**BIG, seconds=recipe.LONG_SECONDS - 1, speeds=fast).passes is None
    assert choose(**BIG, steps=100_000).passes is None
    smaller = dict(BIG, train_chars=recipe.MOST_PASSES_FROM_CHARS - 1)
    assert choose(**smaller, seconds=seconds, speeds=fast).passes is None
    # the small-text branch keeps its own passes (its dropout keeps it level over hundreds), on a
    # small text and where it fires on a large one (ten hours here)
    assert choose(**PIECE, seconds=seconds, speeds=fast).passes is None
    branch = choose(**BIG, seconds=10 * seconds, speeds=SPEEDS)
    assert "with dropout" in branch.line() and branch.passes is None


def test_a_run_planned_for_the_most_passes_ends_there_and_its_rate_decays_over_them(tmp_path):
    path = text_file(tmp_path, 600_000)
    plan = plan_run(path, out=str(tmp_path / "run"), time_budget=3600.0, measure_speeds=measuring([]))
    assert plan.recipe.passes == recipe.MOST_PASSES == plan.budget.end_epoch and plan.budget.end_time == 3600.0
    assert plan.budget.progress(0, recipe.MOST_PASSES / 2, 60.0) == 0.5  # the schedule's clock: passes
    assert plan.budget.reached(10, recipe.MOST_PASSES, 60.0) is Stop.EPOCHS
    # epochs given with the time: the user's limit stands
    given = plan_run(path, out=str(tmp_path / "given"), time_budget=3600.0, epochs=30,
                     measure_speeds=measuring([]))
    assert given.budget.end_epoch == 30
    # no budget: planned for the cap, the passes too; the line says both
    plateau = plan_run(path, out=str(tmp_path / "none"), measure_speeds=measuring([]))
    assert plateau.budget.end_epoch == recipe.MOST_PASSES and plateau.budget.patience
    assert f"at most 30 min or {recipe.MOST_PASSES} passes" in plateau.recipe.line()


def test_a_time_budget_decays_and_averages_the_weights_outside_the_small_text_branch_and_lists():
    timed = choose(**BIG, seconds=600, speeds=SPEEDS)
    assert timed.values["weight_decay"] == recipe.WEIGHT_DECAY > 0 and timed.values["average"] == recipe.AVERAGE > 0
    assert "weight decay 0.1, average 0.998" in timed.line()
    quick = choose(**BIG, seconds=120, speeds=SPEEDS)  # the quick start: decay, no averaging
    assert quick.values["weight_decay"] == recipe.WEIGHT_DECAY and quick.values["average"] == 0.0
    for r in (choose(**BIG, steps=1000),  # a step budget: unmeasured, left as it was
              choose(**SMALL_TEXT, seconds=600, speeds=SPEEDS),  # the small-text branch
              choose(**BIG, seconds=600, speeds=SPEEDS, list_of="a list of 9 items")):
        assert r.values["weight_decay"] == r.values["average"] == 0.0 and "weight decay" not in r.line()
    assert choose(**SMALL_TEXT, seconds=600, speeds=SPEEDS).values["dropout"] == recipe.LONG_DROPOUT
    given = choose(**BIG, seconds=600, speeds=SPEEDS, given={"weight_decay": 0.0, "average": 0.99})
    assert given.values["weight_decay"] == 0.0 and "weight decay" not in given.line() and "average 0.99," in given.line()
    assert "given: --weight-decay, --average" in given.line()


def test_a_recipe_saved_before_weight_decay_reads_as_it_was():
    old = choose(**BIG, seconds=600, speeds=SPEEDS).to_dict()
    for key in ("weight_decay", "average"):
        del old["values"][key]
        old["chosen"].remove(key)
    r = recipe.Recipe.from_dict(old)
    assert "weight decay" not in r.line() and "average" not in r.line() and "given" not in r.line()
    assert "weight_decay" not in r.train_values() and "average" not in r.train_values()
