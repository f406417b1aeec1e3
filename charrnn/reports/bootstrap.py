"""A 95% bootstrap interval: the mean of per-item values (prefixes, streams) and the 2.5th and
97.5th percentiles of the means of BOOTSTRAP resamples of the items, drawn with replacement.
exposure-bias resamples its prefixes, eval --by-position its streams."""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 1000  # resamples of the prefixes for each interval


def interval(values: np.ndarray, rng: np.random.Generator, denominator: np.ndarray | None = None) -> dict:
    """The mean over prefixes (of values / denominator: a ratio of means) and its 95% bootstrap
    interval, resampling prefixes (BOOTSTRAP times)."""
    N = len(values)
    pick = rng.integers(0, N, size=(BOOTSTRAP, N))
    if denominator is None:
        point, boot = values.mean(), values[pick].mean(axis=1)
    else:
        point, boot = values.mean() / denominator.mean(), values[pick].mean(axis=1) / denominator[pick].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {"mean": float(point), "low": float(lo), "high": float(hi)}
