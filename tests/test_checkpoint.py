import dataclasses
import json
import pickle
import struct

import numpy as np
import pytest

from charrnn.training import checkpoint
from charrnn.training.checkpoint import CheckpointError
from charrnn.training.record import FieldError, TrainRecord

from conftest import NETWORKS, checkpoint_with_training_state, resealed


def make_ckpt(cell="lstm"):
    return checkpoint_with_training_state(cell)


@pytest.mark.parametrize("cell", NETWORKS)
def test_round_trip(tmp_path, cell):
    ck = make_ckpt(cell)
    path = tmp_path / "c.safetensors"
    checkpoint.save(ck, path)
    back = checkpoint.load(path)
    assert back.config == ck.config and back.vocab == ck.vocab
    assert back.train == ck.train and back.corpus == ck.corpus
    for n in ck.params:
        assert np.array_equal(back.params[n], ck.params[n])
    for k in ck.optim_state:
        assert np.array_equal(back.optim_state[k], ck.optim_state[k])
    net = ck.config.network
    assert np.array_equal(net.state_tensor(back.carried_state), net.state_tensor(ck.carried_state))
    assert np.any(net.state_tensor(ck.carried_state) != net.state_tensor(net.zero_state(ck.config, 3)))
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary left behind


def test_a_run_that_ended_before_its_first_step_loads_and_resumes(tmp_path):
    """A time budget that ends before the first step (a run started on a busy machine) saves
    checkpoints with no optimiser state yet: they load, and a resume's first step is bit for bit
    a fresh run's first step."""
    from charrnn.training.state import TrainState

    ck, plan = checkpoint_with_training_state(stepped=False, with_plan=True)
    assert ck.train.optimizer_steps == 0 and ck.optim_state == {}
    checkpoint.save(ck, tmp_path / "c.safetensors")
    back = checkpoint.load(tmp_path / "c.safetensors")
    resumed, fresh = TrainState.from_checkpoint(back, plan), TrainState.fresh(plan)
    grads = {k: np.full_like(v, 0.5) for k, v in fresh.params.items()}
    for state in (resumed, fresh):
        state.optimizer.step(state.params, grads)
    for name in fresh.params:
        assert np.array_equal(resumed.params[name], fresh.params[name])


def test_optimiser_state_before_the_first_step_is_refused(tmp_path):
    ck = checkpoint_with_training_state(stepped=False)
    ck.optim_state = {f"{name}/exp_avg": np.zeros_like(p) for name, p in ck.params.items()}
    checkpoint.save(ck, tmp_path / "c.safetensors")
    with pytest.raises(CheckpointError, match="optimiser state before the first step"):
        checkpoint.load(tmp_path / "c.safetensors")


def test_weights_are_plain_safetensors_under_pytorch_names(tmp_path):
    from safetensors.numpy import load_file

    ck = make_ckpt("gru")
    checkpoint.save(ck, tmp_path / "c.safetensors")
    tensors = load_file(tmp_path / "c.safetensors")
    assert tensors["rnn.weight_hh_l1"].shape == (18, 6)
    assert np.array_equal(tensors["decoder.weight"], ck.params["decoder.weight"])


def test_save_replaces_atomically_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    checkpoint.save(make_ckpt(), path)
    before = path.read_bytes()

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", full_disk)
    with pytest.raises(OSError):
        checkpoint.save(make_ckpt("gru"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def write_variant(tmp_path, mutate):
    """Save a valid checkpoint, then rewrite its header JSON through `mutate`."""
    path = tmp_path / "c.safetensors"
    checkpoint.save(make_ckpt(), path)
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    mutate(header)
    raw = json.dumps(header).encode()
    path.write_bytes(resealed(struct.pack("<Q", len(raw)) + raw + data[8 + n :]))
    return path


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda h: h["__metadata__"].update(format="other"), "not a charrnn checkpoint"),
        (lambda h: h["__metadata__"].update(format_version="99"), "format version"),
        (lambda h: h["__metadata__"].update(config=json.dumps({**json.loads(h["__metadata__"]["config"]),
                                                                "hidden_size": 7})), "shape"),
        (lambda h: h["__metadata__"].update(vocab=json.dumps(list("abc"))), "vocabulary"),
        (lambda h: h["__metadata__"].update(config="{not json"), "metadata"),
        (lambda h: h["decoder.bias"].update(dtype="I32"), "dtype"),
        (lambda h: h["decoder.bias"].update(data_offsets=[0, 10**12]), "damaged"),
    ],
)
def test_damaged_metadata_gets_one_clear_error(tmp_path, mutate, message):
    path = write_variant(tmp_path, mutate)
    with pytest.raises(CheckpointError, match=message) as e:
        checkpoint.load(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_nan_weights_are_refused(tmp_path):
    ck = make_ckpt()
    ck.params["decoder.bias"][0] = np.nan
    checkpoint.save(ck, tmp_path / "c.safetensors")
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.load(tmp_path / "c.safetensors")


def test_files_that_are_not_checkpoints(tmp_path):
    cases = {
        "empty.safetensors": b"",
        "pickle.safetensors": pickle.dumps({"a": 1}),
        "npz.safetensors": b"PK\x03\x04" + b"\x00" * 100,
        "huge-header.safetensors": struct.pack("<Q", 2**62) + b"{}",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError):
            checkpoint.load(tmp_path / name)
    good = tmp_path / "good.safetensors"
    checkpoint.save(make_ckpt(), good)
    data = good.read_bytes()
    for cut in (7, 20, len(data) // 2, len(data) - 1):
        (tmp_path / "cut.safetensors").write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            checkpoint.load(tmp_path / "cut.safetensors")
    with pytest.raises(CheckpointError, match="no such"):
        checkpoint.load(tmp_path / "missing.safetensors")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(TrainRecord)])
def test_every_field_of_the_training_record_is_kept_and_checked(field):
    """The training record is one declaration: each field goes through JSON and back, a value of
    the wrong kind is refused naming it, and a missing one too unless the record allows it."""
    record = make_ckpt().train
    d = json.loads(json.dumps(record.to_dict()))
    assert getattr(TrainRecord.from_dict(d), field) == getattr(record, field)
    with pytest.raises(FieldError, match=f"^train\\.{field}"):
        TrainRecord.from_dict({**d, field: "not this"})
    del d[field]
    meta = TrainRecord.__dataclass_fields__[field].metadata
    if meta["optional"]:  # absent from older checkpoints: the value such a checkpoint means
        assert getattr(TrainRecord.from_dict(d), field) == meta["load"](None)
    else:
        with pytest.raises(FieldError, match=f"train.{field}: missing"):
            TrainRecord.from_dict(d)
