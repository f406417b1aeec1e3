"""One training update, the only place the step's math is put together: state resets,
scheduled-sampling inputs, teacher-forced forward and BPTT backward, clipping, the optimiser.
Used by the trainer, by inspect-gradients' warm-up, by the speed measurement that plans a run,
and by the benchmarks, so all of them time and train exactly the same step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charrnn.ground.errors import UserError
from charrnn.ground.optim import Optimizer, clip_by_global_norm
from charrnn.model import ModelConfig
from charrnn.scheduled_sampling import mixed_inputs
from charrnn.teacher_forcing import loss_and_grads


class TrainingDiverged(UserError):
    """The loss or the gradient became NaN or infinite, or the loss stayed far too high."""


@dataclass
class StepOutcome:
    loss: float  # mean cross-entropy of the window, nats/char
    grad_norm: float  # global gradient norm before clipping
    clipped: bool
    final_state: object  # the carried state after the window, for the next one


def train_step(params: dict, config: ModelConfig, optimizer: Optimizer, ids: np.ndarray,
               state, *, lr: float, clip: float, rng: np.random.Generator | None = None,
               state_reset: float = 0.0, sample_prob: float = 0.0) -> StepOutcome:
    """One update of `params` (in place) from one window ids (T+1, B), starting from the
    carried state (model.zero_state's form):

        each stream's state is reset with probability state_reset       (drawn from rng)
        inputs: the observed characters, each (t > 0) replaced by the model's own sample with
                probability sample_prob (scheduled sampling; drawn from rng; 0 = none)
        loss, grads = teacher-forced forward + BPTT backward           (dropout drawn from rng)
        grads *= min(1, clip / ||grads||)                               global-norm clipping
        params = optimizer(params, grads, lr)

    Raises TrainingDiverged, before touching the weights, when the loss or the gradient is not
    finite. Without an rng there is no dropout and no state reset."""
    if rng is not None and state_reset > 0:
        config.network.reset_streams(state, rng.random(config.network.state_batch(state)) < state_reset)
    inputs = mixed_inputs(params, config, ids, state, sample_prob, rng) if sample_prob > 0 else None
    dropout_rng = rng if config.dropout > 0 else None
    r = loss_and_grads(params, config, ids, state, dropout_rng, inputs)
    norm, clipped = clip_by_global_norm(r.grads, clip)
    if not (math.isfinite(r.loss) and math.isfinite(norm)):
        raise TrainingDiverged(f"the loss became {r.loss} (gradient norm {norm:.3g})")
    optimizer.step(params, r.grads, lr)
    return StepOutcome(r.loss, norm, clipped, r.final_state)
