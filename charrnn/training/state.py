"""Everything that decides the next update -- weights, optimiser state, carried hidden state,
data position, random generator state, step counters -- kept in every checkpoint, so that a run
stopped after N steps and resumed gives bit for bit the weights of an uninterrupted run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from charrnn.ground.optim import Optimizer, average_into, make_optimizer
from charrnn.model import cast_params, init_params, zero_state
from charrnn.training.checkpoint import Checkpoint
from charrnn.training.options import DTYPES
from charrnn.training.plan import RunPlan
from charrnn.training.record import TrainRecord


@dataclass
class TrainState:
    """What changes as a run trains; saved in every checkpoint and restored by --resume."""

    params: dict
    optimizer: Optimizer
    rng: np.random.Generator  # dropout masks, state resets, scheduled sampling
    carried: object  # the state carried from window to window (model.zero_state's form)
    step: int = 0
    epoch: int = 0
    window: int = 0  # the next window of the epoch
    elapsed: float = 0.0  # seconds trained, over all sessions of the run
    best_val: float = math.inf
    history: list = field(default_factory=list)  # one entry per evaluation
    sample_prob: float = 0.0  # the scheduled-sampling chance of the last step
    average: dict | None = None  # the weights' moving average (--average), else None

    def averaged(self, decay: float) -> None:
        """After an update: fold the weights into their average (--average; ground/optim.py)."""
        if decay:
            if self.average is None:  # the first update of a run that averages (or of a resume that starts to)
                self.average = {k: p.copy() for k, p in self.params.items()}
            average_into(self.average, self.params, decay, self.optimizer.t)

    def weights(self) -> dict:
        """The weights evaluation, previews and `best` use: the average, where the run keeps one."""
        return self.average if self.average is not None else self.params

    @classmethod
    def fresh(cls, plan: RunPlan) -> "TrainState":
        o, dtype = plan.options, DTYPES[plan.options.dtype]
        rng = np.random.default_rng(o.seed)
        params = init_params(plan.config, rng, dtype) if plan.init_params is None else cast_params(plan.init_params, dtype)
        return cls(params=params, optimizer=make_optimizer(o.optimizer, o.lr, o.weight_decay), rng=rng,
                   carried=zero_state(plan.config, plan.batch_size, dtype))

    @classmethod
    def of(cls, plan: RunPlan) -> "TrainState":
        """Where the plan starts: from its checkpoint when it resumes one, else afresh."""
        return cls.from_checkpoint(plan.prior, plan) if plan.prior else cls.fresh(plan)

    def new_epoch(self, plan: RunPlan) -> None:
        """The streams start again at the beginning of the text, from a zero state."""
        self.epoch, self.window = self.epoch + 1, 0
        self.carried = zero_state(plan.config, plan.batch_size, DTYPES[plan.options.dtype])

    def to_checkpoint(self, plan: RunPlan, best: bool = False) -> Checkpoint:
        """`last`: the weights, their average beside them (--average) and everything a resume needs;
        `best`: the same with the average as its weights (what sample, eval and a page use)."""
        return Checkpoint(
            config=plan.config, vocab=plan.corpus.vocab, params=self.weights() if best else self.params,
            average=None if best else self.average,
            corpus={**plan.corpus_info, "sha256": plan.corpus.text_sha256,
                    "train_chars": int(len(plan.corpus.train)), "val_chars": int(len(plan.corpus.val))},
            train=TrainRecord(
                options=plan.options, budget=plan.budget, batch_size=plan.batch_size, step=self.step,
                epoch=self.epoch, window=self.window, elapsed=self.elapsed, optimizer_steps=self.optimizer.t,
                rng_state=self.rng.bit_generator.state, history=list(self.history),
                best_val_loss=None if math.isinf(self.best_val) else self.best_val, val_unigram=plan.val_unigram,
                recipe=plan.recipe, sample_prob=self.sample_prob, parent=plan.parent),
            optim_state=self.optimizer.state_arrays(),
            carried_state=self.carried,
            items=plan.corpus.hashes,
        )

    @classmethod
    def from_checkpoint(cls, ck: Checkpoint, plan: RunPlan) -> "TrainState":
        t, o, dtype = ck.train, plan.options, DTYPES[plan.options.dtype]
        optimizer = make_optimizer(o.optimizer, o.lr, o.weight_decay)
        optimizer.load_state_arrays({k: v.astype(dtype) for k, v in ck.optim_state.items()}, t.optimizer_steps)
        rng = np.random.default_rng()
        rng.bit_generator.state = t.rng_state
        return cls(params=cast_params(ck.params, dtype), optimizer=optimizer, rng=rng,
                   carried=ck.config.network.cast_state(ck.carried_state, dtype), step=t.step, epoch=t.epoch,
                   window=t.window, elapsed=t.elapsed, history=list(t.history),
                   best_val=math.inf if t.best_val_loss is None else t.best_val_loss, sample_prob=t.sample_prob,
                   average=None if ck.average is None or not o.average else cast_params(ck.average, dtype))
