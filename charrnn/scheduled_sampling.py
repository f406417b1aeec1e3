"""Scheduled sampling (Bengio et al., 2015): training that sometimes feeds the model its own
output, as test time does, instead of the observed character.

    x_0 = observed character 0
    x_t = a character sampled from o_{t-1}    with probability p   (for each stream, t > 0)
        = observed character t                otherwise
    targets: always the observed characters t+1

Because x_t depends on the output at t-1, the inputs are not known before the window is run:
the window is first unrolled one step at a time through all layers -- the test-time unroll,
`sampling.step` -- to choose them. The training unroll (`teacher_forcing.forward`, with those
inputs) then computes the loss and BPTT its gradient, with the chosen inputs held fixed: no
gradient flows through the sampling. The choosing unroll has no dropout: the model's own output
is the one it would give at test time. With p = 0 nothing here runs (and no random number is
drawn), so training is exactly teacher forcing.
"""

from __future__ import annotations

import numpy as np

from charrnn import sampling
from charrnn.model import ModelConfig

FREE_RUNNING = sampling.SampleSettings(length=0)  # temperature 1: the model's own distribution


def mixed_inputs(params: dict, config: ModelConfig, ids: np.ndarray, state0, p: float,
                 rng: np.random.Generator) -> np.ndarray:
    """The first layer's inputs (T, B) for a window ids (T+1, B) from the carried state0."""
    T, B = ids.shape[0] - 1, ids.shape[1]
    state = state0  # a step returns a new state; the window's own is left as it is
    inputs = np.empty((T, B), dtype=np.intp)
    inputs[0] = ids[0]
    streams = [rng] * B  # one generator, drawn from in stream order: deterministic given its state
    for t in range(1, T):
        logits, state = sampling.step(params, config, inputs[t - 1], state)  # o_{t-1}
        own = rng.random(B) < p
        sampled = sampling.choose(logits, FREE_RUNNING, streams)
        inputs[t] = np.where(own, sampled, ids[t])
    return inputs
