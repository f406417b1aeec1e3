"""What changes over a run, as pure functions of how far through its budget it is (progress,
0..1): the learning rate and the scheduled-sampling chance.

    lr_at:            constant:  lr
                      cosine:    lr * (f + (1 - f) * (1 + cos(pi * progress)) / 2),  f = min_lr_frac
    sample_prob_at:   p0 + (p - p0) * progress      from where the run's ramp stood when this
                                                    budget began (0 for a fresh run) to the option
"""

from __future__ import annotations

import math

from charrnn.training.budget import Budget
from charrnn.training.options import TrainOptions


def lr_at(progress: float, options: TrainOptions, budget: Budget) -> float:
    """The rate for a step taken at `progress`; `auto` is cosine over a time budget, else constant."""
    schedule = options.lr_schedule
    if schedule == "auto":
        schedule = "cosine" if budget.end_time is not None else "constant"
    if schedule == "constant":
        return options.lr
    f = options.min_lr_frac
    return options.lr * (f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def sample_prob_at(progress: float, options: TrainOptions, budget: Budget) -> float:
    """The chance of feeding the model its own sample at `progress` (scheduled_sampling.py)."""
    p0 = budget.start_sample_prob
    return p0 + (options.scheduled_sampling - p0) * progress
