"""The pieces every network shares, with no knowledge of any network: the one-hot input as a
gather (and its gradient), a step's product, the decoder, log-softmax and dropout.

    onehot(x_t) W^T      = column x_t of W               (gather: no one-hot is ever built)
    d/dW of that, summed = sum_t dA_t^T onehot(x_t)      (onehot_weight_gradient)
    o_t                  = h_t W_dec^T + b_dec           (decode: the same decoder at every step)
    log softmax(z)       = z - max z - log sum exp(z - max z)
    dropout(h)           = h * mask,  mask = keep / (1 - p), keep ~ Bernoulli(1 - p)   (inverted)
"""

from __future__ import annotations

import math

import numpy as np


def gather_columns(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    """onehot(x) W^T for ids x of any shape: W (N, V) -> (..., N). Gathering rows of a
    contiguous W^T is several times faster than from the strided transpose (and free when W is
    stored column-major, as sampling keeps it)."""
    return np.take(np.ascontiguousarray(W.T), x, axis=0)


def onehot_weight_gradient(dA: np.ndarray, x: np.ndarray, V: int) -> np.ndarray:
    """The backward of `gather_columns`: dW = sum_n dA_n^T onehot(x_n), i.e. column v collects
    the rows of dA whose input character is v. (N, G*H), (N,) -> (G*H, V).

    For a small vocabulary the one-hot product is a cheap BLAS call (N*V*G*H multiply-adds);
    for a large one, the rows are sorted by character and summed per character instead, which
    costs N*G*H whatever V is. (np.add.at does the same sum, but an order of magnitude slower.)"""
    if V <= 256:
        onehot = np.zeros((x.size, V), dtype=dA.dtype)  # (N, V): one window, not the corpus
        onehot[np.arange(x.size), x] = 1.0
        return dA.T @ onehot
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    dW = np.zeros((dA.shape[1], V), dtype=dA.dtype)  # (G*H, V)
    if xs.size:
        dW[:, xs[starts]] = np.add.reduceat(dA[order], starts, axis=0).T
    return dW


def times(x: np.ndarray, M: np.ndarray) -> np.ndarray:
    """x M for a step's rows x (B, K) and a matrix M (K, N), computed as (M^T x^T)^T: a view of
    an (N, B) array, not a (B, N) one. The cells' forward products in_t W^T use it (M = W^T, so
    BLAS reads the row-major W as stored): OpenBLAS computes the product in this order 11-44%
    faster at the recipe's per-step shapes (B = 32 rows against weights of 384-2048 rows; `python
    benchmarks/throughput.py --candidates --orders`), and the elementwise operation that follows
    reads the transposed view as it is. The backward products d_t W stay as written: there the
    transposed result cost the next step what the product saved (docs/benchmarks.md)."""
    return (M.T @ x.T).T


def decode(params: dict, h: np.ndarray) -> np.ndarray:
    """Logits o = h W_dec^T + b_dec: (..., H) -> (..., V). The same decoder at every step."""
    logits = h @ params["decoder.weight"].T
    logits += params["decoder.bias"]
    return logits


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis; subtracting the max first means exp never overflows."""
    z = logits - logits.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z


def dropout_mask(shape: tuple, p: float, rng: np.random.Generator | None, dtype, per: str = "step") -> np.ndarray | None:
    """An inverted-dropout mask for (T, B, H) outputs (kept units scaled by 1/(1-p)), or None when
    there is no dropout (p = 0, or no generator: evaluation and test time). per "step": a new
    mask at every step, (T, B, H); per "window": one per stream for the whole window, (1, B, H),
    which broadcasts over the steps (variational dropout: Gal and Ghahramani 2016)."""
    if p <= 0.0 or rng is None:
        return None
    if per == "window":
        shape = (1,) + tuple(shape[1:])
    keep = 1.0 - p
    mask = (rng.random(shape, dtype=np.float32) < keep).astype(dtype)
    mask *= np.dtype(dtype).type(1.0 / keep)
    return mask


def bits(nats: float) -> float:
    """nats -> bits (divide by ln 2)."""
    return nats / math.log(2)
