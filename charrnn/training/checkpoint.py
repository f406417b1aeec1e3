"""One checkpoint = one safetensors file.

Tensors:
    rnn.weight_ih_l0 ... decoder.bias     the weights, under PyTorch's names (torch can load them)
    optim/<param name>/<slot>             optimiser state (Adam: exp_avg, exp_avg_sq)
    average/<param name>                  with --average, last's average of the weights (best's
                                          weights are the average itself)
    train/state                           the carried state of the B streams, as the network keeps
                                          it: (L, S, B, H) for stacked cells, (B, k) ids for jordan
    items/train, items/val                a list model's items: the sorted, distinct 64-bit hashes
                                          of each side's (corpus/items.py), to mark samples new or seen
Metadata (the safetensors header's string map, each value JSON):
    format ("charrnn-checkpoint"), format_version, charrnn_version, config (ModelConfig),
    vocab (list of characters), corpus (sha256, split sizes, ...), train (record.TrainRecord:
    options and progress -- step, epoch, window, elapsed time, optimiser step count, random
    generator state, loss history, best validation loss, the recipe -- or {} for weights only),
    sha256 (checksum(): of every other field and every tensor, verified on every load)

safetensors is a JSON header plus raw little-endian arrays: loading it parses JSON and copies
bytes, and never runs code from the file (unlike pickle / torch.load). Every tensor is checked
against the config before a model is built from it, and every metadata field against its
declaration (record.py): a missing, unknown or mistyped field is one line naming it.

Saving is atomic: the bytes go to a temporary file in the same directory, are flushed to disk,
and the file is renamed over the old one; a crash at any moment leaves either the old or the new
checkpoint, never a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field

import numpy as np

from charrnn import __version__
from charrnn.corpus.text import read_file_bytes
from charrnn.ground.errors import UserError
from charrnn.ground.vocab import Vocab
from charrnn.model import ModelConfig, param_shapes
from charrnn.training.record import FieldError, TrainRecord, check_corpus, check_train

FORMAT = "charrnn-checkpoint"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100 * 1024 * 1024  # a header larger than this is not one of ours
CHECKSUM = "sha256"  # the metadata field holding checksum() of everything else
TMP_PREFIX = ".tmp-"


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file."""


@dataclass
class Checkpoint:
    config: ModelConfig
    vocab: Vocab
    params: dict  # name -> array
    corpus: dict = field(default_factory=dict)
    train: TrainRecord | None = None  # options, progress, history, rng state; None: weights only
    optim_state: dict = field(default_factory=dict)  # "<param>/<slot>" -> array
    carried_state: object = None  # the carried state (model.zero_state's form)
    items: dict | None = None  # a list model's {"train": hashes, "val": hashes}, each sorted uint64
    average: dict | None = None  # name -> the weights' moving average (--average), beside the weights
    path: str | None = None
    verified: bool = True  # False: written before checkpoints carried a checksum, loaded unchecked

    @property
    def normalization(self) -> str:
        """The Unicode normalization its text was trained with (corpus/text.py); a prime, an eval
        text or a fine-tuning text gets the same."""
        return self.corpus.get("normalize", "none")


def to_bytes(ckpt: Checkpoint) -> bytes:
    from safetensors.numpy import save

    tensors = {name: np.ascontiguousarray(p) for name, p in ckpt.params.items()}
    for key, a in ckpt.optim_state.items():
        tensors[f"optim/{key}"] = np.ascontiguousarray(a)
    for name, a in (ckpt.average or {}).items():
        tensors[f"average/{name}"] = np.ascontiguousarray(a)
    if ckpt.carried_state is not None:
        tensors["train/state"] = np.ascontiguousarray(ckpt.config.network.state_tensor(ckpt.carried_state))
    for side, hashes in (ckpt.items or {}).items():
        tensors[f"items/{side}"] = np.ascontiguousarray(hashes, dtype=np.uint64)
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "charrnn_version": __version__,
        "config": json.dumps(ckpt.config.to_dict()),
        "vocab": json.dumps(ckpt.vocab.chars, ensure_ascii=True),
        "corpus": json.dumps(ckpt.corpus),
        "train": json.dumps(ckpt.train.to_dict() if ckpt.train is not None else {}),
    }
    metadata[CHECKSUM] = checksum(tensors, metadata)
    return save(tensors, metadata=metadata)


def checksum(tensors: dict, metadata: dict) -> str:
    """SHA-256 of everything a checkpoint holds but the checksum itself: every metadata field,
    and every tensor's name, dtype, shape and bytes, in sorted order. safetensors carries none of
    its own, so without it one flipped byte of the weights would load without a word."""
    h = hashlib.sha256()
    for key in sorted(k for k in metadata if k != CHECKSUM):
        h.update(f"{key}\0{metadata[key]}\0".encode("utf-8", "surrogatepass"))
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def save(ckpt: Checkpoint, path: str | os.PathLike) -> None:
    """Write atomically: temporary file in the same directory, fsync, rename."""
    path = os.fspath(path)
    data = to_bytes(ckpt)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".safetensors", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def read_header(data: bytes, path: str) -> dict:
    if len(data) < 8:
        raise CheckpointError(f"{path}: too short to be a checkpoint ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(len(data) - 8, MAX_HEADER_BYTES) or n < 2:
        raise CheckpointError(f"{path}: not a charrnn checkpoint (not a safetensors file, or truncated)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: damaged checkpoint header") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: damaged checkpoint header")
    return header


def _meta_json(meta: dict, key: str, path: str):
    try:
        return json.loads(meta[key])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: damaged checkpoint metadata ({key!r})") from None


def load(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint; CheckpointError (one line) for anything wrong."""
    path = os.fspath(path)
    data = read_file_bytes(path, CheckpointError, "checkpoint", "a .safetensors checkpoint file")
    meta = read_header(data, path).get("__metadata__")
    config, vocab, corpus, train = read_metadata(meta, path)
    try:
        from safetensors.numpy import load as st_load

        tensors = st_load(data)
    except Exception as e:  # safetensors reports damage with several exception types
        raise CheckpointError(f"{path}: damaged tensor data ({str(e).splitlines()[0][:120]})") from None
    del data
    params = read_params(tensors, config, path)
    optim_state = read_optim_state(tensors, params, path)
    average = read_average(tensors, params, path)
    carried = tensors.get("train/state")
    if carried is not None:
        try:
            carried = config.network.state_from_tensor(config, carried)
        except ValueError as e:
            raise CheckpointError(f"{path}: the carried state {e}") from None
    try:
        check_corpus(corpus)
        record = check_train(train, params, optim_state,
                             None if carried is None else config.network.state_batch(carried))
    except FieldError as e:
        raise CheckpointError(f"{path}: {e}") from None
    verified = verify(tensors, meta, path)  # last: a damaged structure is named more precisely above
    return Checkpoint(config=config, vocab=vocab, params=params, corpus=corpus, train=record,
                      optim_state=optim_state, carried_state=carried, items=read_items(tensors, path), average=average,
                      path=path, verified=verified)


def verify(tensors: dict, meta: dict, path: str) -> bool:
    """Whether the checkpoint's checksum matches what it holds: CheckpointError if not; False for
    a checkpoint written before checkpoints carried one (it loads unverified)."""
    if CHECKSUM not in meta:
        return False
    if checksum(tensors, meta) != meta[CHECKSUM]:
        raise CheckpointError(f"{path}: damaged -- its contents do not match the checksum it was saved with "
                              f"(a changed byte in its weights or metadata); use another copy or an earlier checkpoint")
    return True


def read_metadata(meta, path: str) -> tuple[ModelConfig, Vocab, dict, dict]:
    """The header's string map: format and version checked, then (config, vocabulary, corpus,
    training state as JSON), the first two validated."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a charrnn checkpoint (a safetensors file from something else)")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: checkpoint format version {meta.get('format_version')!r}; "
            f"this charrnn ({__version__}) reads version {FORMAT_VERSION}"
        )
    try:
        config = ModelConfig.from_dict(_meta_json(meta, "config", path))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: invalid model config ({e})") from None
    chars = _meta_json(meta, "vocab", path)
    if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise CheckpointError(f"{path}: damaged vocabulary")
    try:
        vocab = Vocab(chars)
    except ValueError:
        raise CheckpointError(f"{path}: damaged vocabulary (not sorted and distinct)") from None
    if len(vocab) != config.vocab_size:
        raise CheckpointError(
            f"{path}: the vocabulary has {len(vocab)} characters but the model expects {config.vocab_size}"
        )
    corpus, train = _meta_json(meta, "corpus", path), _meta_json(meta, "train", path)
    if not isinstance(corpus, dict) or not isinstance(train, dict):
        raise CheckpointError(f"{path}: damaged checkpoint metadata")
    return config, vocab, corpus, train


def read_params(tensors: dict, config: ModelConfig, path: str) -> dict:
    """Every weight the config names, each of its shape, finite, and all of one float dtype."""
    params = {}
    for name, shape in param_shapes(config).items():
        a = tensors.get(name)
        if a is None:
            raise CheckpointError(f"{path}: missing weight {name}")
        if a.shape != shape:
            raise CheckpointError(f"{path}: {name} has shape {a.shape}, the config needs {shape}")
        if a.dtype not in (np.float32, np.float64):
            raise CheckpointError(f"{path}: {name} has dtype {a.dtype}; expected float32 or float64")
        if not np.isfinite(a).all():
            raise CheckpointError(f"{path}: {name} holds NaN or infinite values")
        params[name] = a
    if len({a.dtype for a in params.values()}) != 1:
        raise CheckpointError(f"{path}: the weights have mixed dtypes")
    return params


def read_items(tensors: dict, path: str) -> dict | None:
    """A list model's item hashes, each side sorted and distinct uint64; None where there are none."""
    found = {}
    for side in ("train", "val"):
        a = tensors.get(f"items/{side}")
        if a is None:
            continue
        if a.dtype != np.uint64 or a.ndim != 1 or (a.size > 1 and not (np.diff(a) > 0).all()):
            raise CheckpointError(f"{path}: items/{side} must be sorted, distinct 64-bit hashes")
        found[side] = a
    return found or None


def read_average(tensors: dict, params: dict, path: str) -> dict | None:
    """The weights' moving average (average/<name>): one for every weight, of its shape and dtype,
    finite; None where the checkpoint holds none."""
    average = {k[len("average/"):]: a for k, a in tensors.items() if k.startswith("average/")}
    if not average:
        return None
    for name, p in params.items():
        a = average.get(name)
        if a is None or a.shape != p.shape or a.dtype != p.dtype or not np.isfinite(a).all():
            raise CheckpointError(f"{path}: the weights' average average/{name} is missing or does not match the weights")
    if set(average) != set(params):
        raise CheckpointError(f"{path}: the weights' average holds {sorted(set(average) - set(params))[0]}, "
                              "which is not a weight")
    return average


def read_optim_state(tensors: dict, params: dict, path: str) -> dict:
    """"<param>/<slot>" -> array for every optim/ tensor, each matching its weight's shape."""
    optim_state = {}
    for key, a in tensors.items():
        if key.startswith("optim/"):
            name = key[len("optim/") :].rsplit("/", 1)[0]
            if name not in params or a.shape != params[name].shape:
                raise CheckpointError(f"{path}: optimiser state {key} does not match the weights")
            optim_state[key[len("optim/") :]] = a
    return optim_state
