"""List models: every item is read from the initial state, so no item sees another -- at train
time (the window's resets) and at test time (sampling's step), for every network; and lists end
to end: judged, split by distinct item, trained, sampled whole and marked, evaluated, resumed."""

import inspect
import json
import os
import signal

import numpy as np
import pytest

from charrnn import sampling, teacher_forcing
from charrnn.corpus import items as items_mod
from charrnn.corpus.corpora import python_docs_text
from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.reports.gradients import check_gradients
from charrnn.training import checkpoint
from charrnn.views.progress import TrainProgress

from conftest import NETWORKS, SMALL, invoke, layer_counts, one_line_error, random_state

SEP = 0  # the line break's id in these made-up vocabularies


def list_config(cell, **kw):
    return ModelConfig(vocab_size=9, hidden_size=6, num_layers=layer_counts(cell)[-1], cell=cell, item_start=SEP,
                       **{"context": 3, **kw} if cell == "jordan" else kw)


def window_with_an_item_start(rng, T=12, B=3, at=5):
    """ids (T+1, B) with no line break but at step `at` of stream 0 and step at + 2 of stream 2."""
    ids = rng.integers(1, 9, size=(T + 1, B))
    ids[at, 0] = SEP
    ids[at + 2, 2] = SEP
    return ids


@pytest.mark.parametrize("cell", NETWORKS)
def test_no_item_sees_the_one_before_it(cell, rng):
    """Change everything before an item's start -- the characters and the carried state -- and
    its predictions stay exactly the same; before the start they change."""
    config = list_config(cell)
    params = init_params(config, rng, np.float64)
    ids = window_with_an_item_start(rng)
    other = ids.copy()
    other[:5, 0] = rng.integers(1, 9, size=5)  # the earlier item of stream 0, other characters
    a = teacher_forcing.forward(params, config, ids, random_state(config, 3, rng))[2].log_probs.reshape(12, 3, -1)
    b = teacher_forcing.forward(params, config, other, random_state(config, 3, rng))[2].log_probs.reshape(12, 3, -1)
    np.testing.assert_array_equal(a[5:, 0], b[5:, 0])  # from the start on: the same item, the same predictions
    np.testing.assert_array_equal(a[7:, 2], b[7:, 2])
    assert not np.allclose(a[:5, 0], b[:5, 0])


@pytest.mark.parametrize("cell", NETWORKS)
def test_the_gradient_with_item_starts_is_exact(cell, rng):
    config = list_config(cell, dropout=0.2)
    params = init_params(config, rng, np.float64)
    results = check_gradients(params, config, window_with_an_item_start(rng), random_state(config, 3, rng),
                              dropout_seed=4)
    assert all(r.passed for r in results), [(r.name, r.rel_error) for r in results if not r.passed]


@pytest.mark.parametrize("cell", NETWORKS)
def test_nothing_after_an_item_start_reaches_back_before_it(cell, rng):
    """The loss of the characters after the start has no gradient at the initial state."""
    config = list_config(cell)
    params = init_params(config, rng, np.float64)
    ids = window_with_an_item_start(rng, at=0)  # stream 0 starts an item at its first step
    _, _, tape = teacher_forcing.forward(params, config, ids, random_state(config, 3, rng))
    _, dstate0 = teacher_forcing.backward(params, config, tape)
    if dstate0 is not None:  # a float state: stream 0's part is exactly zero, the others' not
        assert not dstate0[:, :, 0].any() and dstate0[:, :, 1].any()


@pytest.mark.parametrize("cell", NETWORKS)
def test_test_time_reads_an_item_as_train_time_does(cell, rng):
    """Sampling's step, fed the same list text, reaches the same state as the training unroll:
    both start afresh at every line break."""
    config = list_config(cell)
    params = init_params(config, rng, np.float64)
    ids = rng.integers(1, 9, size=25)
    ids[[0, 7, 16]] = SEP
    start = random_state(config, 1, rng)
    _, final, _ = teacher_forcing.forward(params, config, ids.reshape(-1, 1), start)
    state = start
    for c in ids[:-1]:
        _, state = sampling.step(params, config, np.array([c]), state)
    if isinstance(final, np.ndarray):
        np.testing.assert_allclose(state, final, rtol=1e-12, atol=1e-14)
    else:
        assert state == final
    # and a line break read from any state gives what it gives from the zero state
    fresh = sampling.step(params, config, np.array([SEP]), zero_state(config, 1, np.float64))[0]
    np.testing.assert_allclose(sampling.step(params, config, np.array([SEP]), start)[0], fresh, rtol=1e-12)


def test_sampling_leaves_the_callers_state_as_it_was(rng):
    config = list_config("gru")
    params = init_params(config, rng, np.float64)
    state = random_state(config, 2, rng)
    before = state.copy()
    sampling.step(params, config, np.array([SEP, 3]), state)
    np.testing.assert_array_equal(state, before)


# ------------------------------------------------------------------------------ lists, end to end



SYLLABLES = ["ka", "ri", "mo", "na", "el", "sa", "to", "an", "li", "ve", "ra", "jo", "mi", "de", "lu", "ne"]


def made_up_names(n, seed=0, syllables=SYLLABLES):
    """n names of 2-4 syllables, some repeated (as names.txt's are)."""
    rng = np.random.default_rng(seed)
    names = ["".join(rng.choice(syllables, size=rng.integers(2, 5))) for _ in range(n)]
    return names + names[: n // 10]


COLOURS = """Dusty Rose
Midnight Blue
Sage Green
Burnt Orange
Pale Lemon
Deep Teal
Warm Grey
Soft Lilac
Forest Green
Brick Red
Ocean Mist
Sandstone
Plum Velvet
Arctic White
Copper Glow
Olive Branch
Sky Blue
Charcoal
Peach Fuzz
Mint Julep
Coral Reef
Slate Grey
Honey Gold
Lavender Haze
"""
TITLES = """The Old Man and the Sea
A Tale of Two Cities
Pride and Prejudice
Great Expectations
The Call of the Wild
Little Women
Treasure Island
The Time Machine
Wuthering Heights
Far from the Madding Crowd
The Picture of Dorian Gray
Heart of Darkness
Moby Dick
The Wind in the Willows
Jude the Obscure
The Secret Garden
Sense and Sensibility
Dracula
Middlemarch
Silas Marner
The War of the Worlds
Robinson Crusoe
Kidnapped
Emma
"""
SHAKESPEARE = """First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?

All:
Resolved. resolved.

First Citizen:
First, you know Caius Marcius is chief enemy to the people.

All:
We know't, we know't.

First Citizen:
Let us kill him, and we'll have corn at our own price.
Is't a verdict?

All:
No more talking on't; let it be done: away, away!
""" * 3
POETRY = """Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.
""" * 3


def csv_text():
    return "name,age,city\n" + "".join(f"person{i},{20 + i % 50},town{i % 7}\n" for i in range(60))


@pytest.mark.parametrize("text, expected", [
    ("\n".join(made_up_names(300)) + "\n", True),
    (COLOURS, True),
    (TITLES, True),
    ("\r\n".join("ハナコ タロウ サクラ ケンジ ユミ アキラ ミホ ヒロシ ナオミ ダイスケ リナ ショウタ".split() * 3) + "\r\n", True),
    ("\n".join(made_up_names(300)[:150] + [""] + made_up_names(300)[150:]) + "\n\n", True),
    ("\n\n".join("\n".join(made_up_names(300)[i : i + 4]) for i in range(0, 300, 4)), False),
    (SHAKESPEARE, False),
    (POETRY, False),
    (python_docs_text()[:50_000], False),
    (inspect.getsource(json), False),
    (csv_text(), False),
], ids=["names", "colours", "titles", "japanese-names-crlf", "a-blank-line-or-two", "blank-lines-between-groups",
        "shakespeare", "poetry", "prose", "code", "csv"])
def test_a_list_is_recognised_and_a_running_text_is_not(text, expected):
    verdict = items_mod.judge(text)
    assert verdict.is_list == expected, verdict.why


def test_lines_are_items_crlf_and_blank_lines_handled():
    found, blank = items_mod.read_items("emma\r\n\r\n  olivia \nava\r\n\n")
    assert found == ["emma", "olivia", "ava"] and blank == 2


def test_the_split_is_by_distinct_item_and_keeps_multiplicity():
    names = made_up_names(400)
    train, val = items_mod.split_items(names, 0.1)
    assert not set(train) & set(val)  # a name is on one side only, however often it occurs
    assert sorted(train + val) == sorted(names)  # each keeps its multiplicity
    assert len(set(val)) == round(0.1 * len(set(names)))
    assert items_mod.split_items(list(reversed(names)), 0.1)[1] != [] and \
        set(items_mod.split_items(list(reversed(names)), 0.1)[1]) == set(val)  # seeded: the file's order does not matter


def test_each_items_end_is_a_character_to_predict(rng):
    from charrnn.ground.vocab import Vocab
    from charrnn.teacher_forcing import evaluate_stream

    vocab = Vocab.from_text("\nabc")
    config = ModelConfig(vocab_size=4, hidden_size=5, cell="gru", item_start=vocab.index["\n"])
    ids = items_mod.encode_items(vocab, ["ab", "c", "abc"])
    _, predicted = evaluate_stream(init_params(config, rng), config, ids, streams=2)
    assert predicted == (2 + 1) + (1 + 1) + (3 + 1)


@pytest.fixture(scope="module")
def list_run(tmp_path_factory):
    """A small list model: its file, its run directory."""
    d = tmp_path_factory.mktemp("list")
    f = d / "names.txt"
    f.write_text("\n".join(made_up_names(600)) + "\n", encoding="utf-8")
    r = invoke("train", f, *SMALL, "--steps", "60", "--eval-every", "30", "--lr", "0.01", "--out", d / "run")
    assert r.exit_code == 0, r.output
    return f, d / "run"


def test_a_list_trains_as_items_and_says_so(list_run, tmp_path):
    f, run = list_run
    ck = checkpoint.load(run / "best.safetensors")
    assert ck.config.item_start == ck.vocab.index["\n"] and ck.train.options.state_reset == 0.0
    assert ck.corpus["items"]["items"] == 660 and ck.corpus["items"]["distinct_val"] > 0
    r = invoke("train", f, *[a for a in SMALL if a != "--quiet"], "--steps", "1", "--out", tmp_path / "r")
    assert "a list of 660 items" in r.stderr
    r = invoke("train", f, *SMALL, "--steps", "1", "--stream", "--out", tmp_path / "s")
    assert checkpoint.load(tmp_path / "s" / "last.safetensors").config.item_start is None


def test_sample_writes_whole_items_with_marks(list_run):
    _, run = list_run
    r = invoke("sample", run / "best.safetensors", "--num-samples", "20", "--seed", "3")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 20 and all(line and "\n" not in line for line in lines)
    assert r.stderr.startswith("20 items: ") and "in the training list" in r.stderr
    again = invoke("sample", run / "best.safetensors", "--num-samples", "20", "--seed", "3")
    assert again.stdout == r.stdout


def test_new_only_and_unique_give_new_distinct_items_reproducibly(list_run):
    _, run = list_run
    args = ["sample", run / "best.safetensors", "--num-samples", "30", "--new-only", "--unique", "--seed", "5",
            "--json"]
    report = json.loads(invoke(*args).stdout)
    rows = report["items"]
    assert len(rows) == 30 and {r["mark"] for r in rows} == {"new"} and len({r["item"] for r in rows}) == 30
    assert json.loads(invoke(*args).stdout)["items"] == rows
    assert all(r["log_prob"] < 0 for r in rows) and report["drawn"] >= 30


def test_marks_need_no_original_file(list_run, tmp_path):
    f, run = list_run
    ck = checkpoint.load(run / "best.safetensors")
    train, val = items_mod.split_items(items_mod.read_items(f.read_text())[0], 0.1)
    moved = tmp_path / "elsewhere.safetensors"
    moved.write_bytes((run / "best.safetensors").read_bytes())
    assert items_mod.marks([train[0], val[0], "qqqzzz"], checkpoint.load(moved).items) == ["train", "val", "new"]
    assert ck.items["train"].dtype == np.uint64


def test_eval_scores_a_list_item_by_item(list_run):
    f, run = list_run
    r = json.loads(invoke("eval", run / "best.safetensors", f, "--json").stdout)
    assert r["items"] == 660 and r["predicted"] == sum(len(n) + 1 for n in made_up_names(600))
    assert r["per_item"] == pytest.approx(r["loss"] * r["predicted"] / r["items"])
    one_line_error(invoke("eval", run / "best.safetensors", f, "--by-position"), "--by-position")


def test_a_list_run_resumes_bit_for_bit(tmp_path, runs, monkeypatch):
    """Interrupted at step 17 and resumed, it ends with the weights of the run never stopped,
    across epochs whose items are shuffled anew."""
    f = tmp_path / "n.txt"
    f.write_text("\n".join(made_up_names(150)) + "\n", encoding="utf-8")
    args = ["train", f, *SMALL, "--steps", "40", "--eval-every", "10", "--seed", "2"]
    assert invoke(*args, "--out", tmp_path / "whole").exit_code == 0
    whole = checkpoint.load(tmp_path / "whole" / "last.safetensors")
    assert whole.train.epoch >= 2  # the shuffle of later epochs is part of what must match
    real_on_step = TrainProgress.on_step

    def interrupt_at_17(self, info):
        real_on_step(self, info)
        if info.step == 17:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TrainProgress, "on_step", interrupt_at_17)
    assert invoke(*args, "--out", tmp_path / "split").exit_code == 130
    monkeypatch.setattr(TrainProgress, "on_step", real_on_step)
    assert invoke("train", "--quiet", "--resume", tmp_path / "split" / "last.safetensors").exit_code == 0
    split = checkpoint.load(tmp_path / "split" / "last.safetensors")
    for n in whole.params:
        assert np.array_equal(whole.params[n], split.params[n]), n
    assert np.array_equal(whole.items["val"], split.items["val"])


def test_bad_lists_get_one_line(tmp_path, runs):
    one = tmp_path / "one.txt"
    one.write_text("emma\n" * 50)
    one_line_error(invoke("train", one, *SMALL, "--steps", "2", "--lines"), "1 distinct item")
    long = tmp_path / "long.txt"
    long.write_text("x" * 5_000_000 + "\n")
    one_line_error(invoke("train", long, *SMALL, "--steps", "2", "--lines"), "distinct")


def test_sampling_bad_inputs_get_one_line(list_run, tmp_path, runs):
    _, run = list_run
    ckpt = run / "best.safetensors"
    one_line_error(invoke("sample", ckpt, "--prime", "ka\nri"), "line break")
    one_line_error(invoke("sample", ckpt, "--stop", "a"), "--stop")
    one_line_error(invoke("sample", ckpt, "--prime", "Q"), "never saw")
    same = tmp_path / "same.txt"
    same.write_text("aaa\n" * 40 + "bbb\n" * 2)
    assert invoke("train", same, *SMALL, "--steps", "40", "--lr", "0.02", "--val-frac", "0", "--lines",
                  "--out", tmp_path / "r").exit_code == 0
    one_line_error(invoke("sample", tmp_path / "r" / "best.safetensors", "--greedy", "--new-only"), "1,000 tries")


def test_a_japanese_list_in_cp932(tmp_path, runs):
    f = tmp_path / "名前.txt"
    f.write_bytes(("\r\n".join(made_up_names(200, syllables=list("かりもなえさとあんりべらじょみでるね"))) + "\r\n")
                  .encode("cp932"))
    r = invoke("train", f, *SMALL, "--steps", "20", "--encoding", "cp932", "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    s = invoke("sample", tmp_path / "r" / "best.safetensors", "--num-samples", "5", "--seed", "1")
    assert s.exit_code == 0 and len(s.stdout.splitlines()) == 5 and "\r" not in s.stdout
