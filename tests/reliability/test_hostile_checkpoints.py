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

from charrnn import checkpoint
from charrnn.checkpoint import Checkpoint, CheckpointError
from charrnn.model import ModelConfig, init_params, zero_state
from charrnn.vocab import Vocab

from conftest import invoke


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    vocab = Vocab.from_text("abcdefgh \n")
    config = ModelConfig(vocab_size=len(vocab), hidden_size=4, num_layers=2, cell="lstm")
    ck = Checkpoint(config=config, vocab=vocab, params=init_params(config, np.random.default_rng(0)),
                    corpus={"sha256": "0" * 64}, train={"step": 3}, carried_state=zero_state(config, 2))
    return checkpoint.to_bytes(ck)


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
    return struct.pack("<Q", len(raw)) + raw + valid_bytes[8 + n :]


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
    ("config", json.dumps({"vocab_size": 10, "hidden_size": 4, "num_layers": 2, "cell": "gru"}), "shape"),
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
        "from charrnn import checkpoint\n"
        "try:\n"
        f"    checkpoint.load({str(path)!r})\n"
        "except checkpoint.CheckpointError:\n"
        "    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kb = int(out.stdout.strip())
    assert peak_kb < 400 * 1024, peak_kb
