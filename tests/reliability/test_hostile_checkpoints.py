"""A checkpoint is a file from a stranger: any damage gets CheckpointError, never a crash,
never code execution, never a memory blow-up."""

import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charrnn.training import checkpoint
from charrnn.training.checkpoint import CheckpointError

from conftest import PANGRAMS, checkpoint_with_training_state, invoke, resealed

pytestmark = pytest.mark.slow  # subprocesses, memory limits, benchmarks: `pytest -m "not slow"` leaves them out


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    return checkpoint.to_bytes(checkpoint_with_training_state("lstm", hidden_size=4, num_layers=2, batch_size=2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_mutations_never_escape_as_anything_but_checkpoint_error(valid_bytes, tmp_path, data):
    raw = bytearray(valid_bytes)
    n_mut = data.draw(st.integers(1, 8))
    for _ in range(n_mut):
        kind = data.draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set":
            raw[pos] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[pos:]
            if not raw:
                break
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
    path = tmp_path / "m.safetensors"
    path.write_bytes(bytes(raw))
    try:
        ck = checkpoint.load(path)
    except CheckpointError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return
    # a mutation that only changed numbers inside a weight still gives a well-formed model
    assert all(np.isfinite(p).all() for p in ck.params.values())


def header_with(valid_bytes, mutate):
    (n,) = struct.unpack("<Q", valid_bytes[:8])
    header = json.loads(valid_bytes[8 : 8 + n])
    mutate(header)
    raw = json.dumps(header).encode()
    data = struct.pack("<Q", len(raw)) + raw + valid_bytes[8 + n :]
    return resealed(data) if "sha256" in header.get("__metadata__", {}) else data


def test_header_claiming_huge_tensors_does_not_allocate(valid_bytes, tmp_path):
    def huge(h):
        h["decoder.weight"]["shape"] = [1 << 30, 1 << 20]
        h["decoder.weight"]["data_offsets"] = [0, (1 << 50)]

    path = tmp_path / "huge.safetensors"
    path.write_bytes(header_with(valid_bytes, huge))
    with pytest.raises(CheckpointError):
        checkpoint.load(path)


def test_pickle_renamed_to_a_checkpoint_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Evil()))
    r = invoke("sample", path)
    assert r.exit_code == 1 and "not a charrnn checkpoint" in r.stderr
    assert not marker.exists()


def test_npz_renamed_to_a_checkpoint(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, a=np.zeros(3))
    target = tmp_path / "w.safetensors"
    path.rename(target)
    with pytest.raises(CheckpointError):
        checkpoint.load(target)


@pytest.mark.parametrize("field,value,message", [
    ("config", json.dumps({"vocab_size": 35, "hidden_size": 4, "num_layers": 2, "cell": "gru"}), "shape"),
    ("vocab", json.dumps(list("abcdefgh")), "vocabulary"),
    ("vocab", json.dumps(["ab", "c"]), "vocabulary"),
    ("config", json.dumps({"vocab_size": 10, "hidden_size": -4}), "config"),
    ("train", "[1, 2]", "metadata"),
])
def test_metadata_that_disagrees_with_the_weights(valid_bytes, tmp_path, field, value, message):
    path = tmp_path / "c.safetensors"
    path.write_bytes(header_with(valid_bytes, lambda h: h["__metadata__"].update({field: value})))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(path)


def test_loading_a_large_hostile_file_keeps_memory_bounded(tmp_path):
    """A 64 MB file of zeros whose header claims terabytes: refused with memory near the
    file size (measured in a fresh process)."""
    path = tmp_path / "big.safetensors"
    header = json.dumps({"x": {"dtype": "F32", "shape": [1 << 40], "data_offsets": [0, 1 << 42]}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.truncate(64 << 20)
    code = (
        "import resource, sys\n"
        "from charrnn.training import checkpoint\n"
        "try:\n"
        f"    checkpoint.load({str(path)!r})\n"
        "except checkpoint.CheckpointError:\n"
        "    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kb = int(out.stdout.strip())
    assert peak_kb < 400 * 1024, peak_kb


def with_train(valid_bytes, change):
    """valid_bytes with its training-state metadata passed through change(train)."""
    def mutate(h):
        train = json.loads(h["__metadata__"]["train"])
        change(train)
        h["__metadata__"]["train"] = json.dumps(train)
    return header_with(valid_bytes, mutate)


@pytest.mark.parametrize("change,field", [
    (lambda t: t.pop("step"), "train.step: missing"),
    (lambda t: t.pop("rng_state"), "train.rng_state: missing"),
    (lambda t: t.update(step="12"), "train.step: must be an integer"),
    (lambda t: t.update(elapsed=-1), "train.elapsed"),
    (lambda t: t.update(rng_state={"bit_generator": "PCG64"}), "train.rng_state"),
    (lambda t: t.update(history=[{"step": "x"}]), "train.history[0].step"),
    (lambda t: t.update(surprise=1), "train.surprise: unknown field"),
    (lambda t: t["options"].update(lr="fast"), "train.options.lr: must be a number"),
    (lambda t: t["options"].update(optimizer="lion"), "train.options.optimizer: must be one of"),
    (lambda t: t["options"].update(seq_len=0), "train.options.seq_len: must be >= 1"),
    (lambda t: t["options"].update(wings=2), "train.options.wings: unknown field"),
    (lambda t: t["budget"].update(end_step="soon"), "train.budget.end_step"),
    (lambda t: t.update(batch_size=7), "train/state: holds 2 streams"),
    (lambda t: t["options"].update(optimizer="sgd"), "optim/rnn.weight_ih_l0/momentum: missing"),
])
def test_training_state_is_checked_field_by_field(valid_bytes, tmp_path, change, field):
    path = tmp_path / "c.safetensors"
    path.write_bytes(with_train(valid_bytes, change))
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    assert f"{path}: {field}" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("change,field", [
    (lambda c: c.update(sha256=5), "corpus.sha256"),
    (lambda c: c.update(normalize="nfd"), "corpus.normalize"),
    (lambda c: c.update(colour="blue"), "corpus.colour: unknown field"),
])
def test_corpus_metadata_is_checked(valid_bytes, tmp_path, change, field):
    def mutate(h):
        corpus = json.loads(h["__metadata__"]["corpus"])
        change(corpus)
        h["__metadata__"]["corpus"] = json.dumps(corpus)
    path = tmp_path / "c.safetensors"
    path.write_bytes(header_with(valid_bytes, mutate))
    with pytest.raises(CheckpointError, match=field):
        checkpoint.load(path)


def test_weights_only_checkpoint_samples_but_does_not_resume(valid_bytes, tmp_path, corpus_file):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(with_train(valid_bytes, lambda t: t.clear()))
    assert checkpoint.load(path).train is None
    r = invoke("sample", path, "--length", "20", "--seed", "1")
    assert r.exit_code == 0 and len(r.stdout) == 21, r.output
    assert invoke("info", path).exit_code == 0
    r = invoke("train", corpus_file, "--resume", path, "--steps", "1")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "weights only" in r.stderr


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=False)
                           | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_metadata_mutations_never_escape_as_a_traceback(valid_bytes, tmp_path, data):
    """Fields of the metadata deleted, replaced by any JSON value, or added: loading gives
    CheckpointError or a checkpoint that info, sample and --resume (on its own text) use
    without a traceback."""
    corpus_file = tmp_path / "c.txt"
    corpus_file.write_text(PANGRAMS * 3, encoding="utf-8")  # the text the checkpoint was made from
    def mutate(h):
        meta = h["__metadata__"]
        key = data.draw(st.sampled_from(["train", "corpus", "config"]))
        obj = json.loads(meta[key])
        for _ in range(data.draw(st.integers(1, 3))):
            target = obj
            if isinstance(obj, dict) and obj and data.draw(st.booleans()):  # one level down
                sub = data.draw(st.sampled_from(sorted(obj)))
                if isinstance(obj[sub], dict):
                    target = obj[sub]
            if not isinstance(target, dict):
                break
            kind = data.draw(st.sampled_from(["delete", "replace", "add"]))
            if kind == "delete" and target:
                del target[data.draw(st.sampled_from(sorted(target)))]
            elif kind == "replace" and target:
                target[data.draw(st.sampled_from(sorted(target)))] = data.draw(JSON_VALUES)
            else:
                target[data.draw(st.text(min_size=1, max_size=6))] = data.draw(JSON_VALUES)
        meta[key] = json.dumps(obj)
    path = tmp_path / "m.safetensors"
    path.write_bytes(header_with(valid_bytes, mutate))
    try:
        checkpoint.load(path)
    except CheckpointError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return
    for args in (("info", path), ("sample", path, "--length", "5", "--seed", "0"),
                 ("train", corpus_file, "--resume", path, "--steps", "1", "--quiet", "--out", tmp_path / "o")):
        r = invoke(*args)
        assert r.exit_code == 0 or (r.exit_code == 1 and r.stderr.count("\n") == 1), (args, r.output)


def test_a_checkpoint_from_before_newer_options_resumes(valid_bytes, tmp_path):
    """Options added since a checkpoint was written (normalize, scheduled_sampling) take their
    defaults: it loads, and resumes with or without them given."""
    def forget(t):
        for key in ("normalize", "scheduled_sampling"):
            del t["options"][key]
    path = tmp_path / "old.safetensors"
    path.write_bytes(with_train(valid_bytes, forget))
    corpus = tmp_path / "c.txt"
    corpus.write_text(PANGRAMS * 3, encoding="utf-8")
    assert checkpoint.load(path).train.options.normalize == "none"  # the default
    r = invoke("train", corpus, "--resume", path, "--steps", "1", "--normalize", "none", "--quiet")
    assert r.exit_code == 0, r.output
    r = invoke("train", corpus, "--resume", path, "--steps", "1", "--normalize", "nfkc", "--quiet")
    assert r.exit_code == 1 and "--normalize nfkc differs from the checkpoint's none" in r.stderr


def test_a_checkpoint_whose_options_lost_their_batch_size_resumes_with_its_own_streams(valid_bytes, tmp_path):
    """train.options = {} (every option takes its default, batch_size 32 among them) while the
    carried state holds the run's own streams: a resume goes on with those, without a traceback
    (the fuzz test above found the broadcast error this guards against)."""
    def forget(t):
        t["options"] = {}
    path = tmp_path / "no-options.safetensors"
    path.write_bytes(with_train(valid_bytes, forget))
    ck = checkpoint.load(path)
    assert ck.train.options.batch_size != ck.train.batch_size  # the default, not the run's streams
    corpus = tmp_path / "c.txt"
    corpus.write_text(PANGRAMS * 3, encoding="utf-8")
    r = invoke("train", corpus, "--resume", path, "--steps", "1", "--quiet", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output


def flipped(data: bytes) -> bytes:
    """One bit flipped in the middle of the tensor data: the lowest bit of a float32's mantissa
    there, so every value stays finite and every shape and dtype stays as it was."""
    (n,) = struct.unpack("<Q", data[:8])
    start = 8 + n
    at = start + ((len(data) - start) // 2) // 4 * 4  # a float32's first (least significant) byte
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def test_one_flipped_byte_is_refused_by_every_command(tmp_path, corpus_file, monkeypatch):
    from conftest import SMALL, one_line_error

    monkeypatch.setenv("CHARRNN_RUNS", str(tmp_path / "runs"))
    assert invoke("train", corpus_file, *SMALL, "--steps", "3", "--out", tmp_path / "run").exit_code == 0
    path = tmp_path / "run" / "last.safetensors"
    path.write_bytes(flipped(path.read_bytes()))
    for args in (["train", corpus_file, "--resume", path], ["sample", path], ["eval", path, corpus_file],
                 ["info", path], ["inspect-gradients", path, "--corpus", corpus_file], ["neurons", path, corpus_file],
                 ["exposure-bias", path, corpus_file]):
        one_line_error(invoke(*args), str(path), "damaged")


def test_a_checkpoint_saved_before_checksums_loads_with_a_note(valid_bytes, tmp_path):
    from charrnn.training.checkpoint import CHECKSUM

    path = tmp_path / "old.safetensors"
    path.write_bytes(header_with(valid_bytes, lambda h: h["__metadata__"].pop(CHECKSUM)))
    assert checkpoint.load(path).verified is False
    r = invoke("info", path)
    assert r.exit_code == 0 and r.stderr.count("saved before checkpoints carried a checksum") == 1
