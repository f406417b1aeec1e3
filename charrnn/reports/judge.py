"""A judge that is not the model: an interpolated Kneser-Ney character n-gram model (Chen and
Goodman, 1998), fitted on a training text, scoring any text. `exposure-bias` uses it to score
continuations written by the model, so that the model is not both the writer and the judge.

For an order n, context c (the n-1 characters before) and character w:

    P_n(w | c) = max(C(c w) - D, 0) / C(c .)  +  D N1+(c .) / C(c .) * P_{n-1}(w | c')
    c' = c without its first character;  P_0(w) = 1 / V

C is the count of an n-gram in the training text at the highest order and its continuation
count N1+(. x) -- the number of distinct characters seen before x -- at the lower orders (Kneser
and Ney's point: a character that follows many contexts is a better guess in a new one than one
that is frequent but always after the same few); N1+(c .) is the number of distinct characters
seen after c; D = 0.75. A context never seen hands all its mass to the order below.

n-grams are held as 64-bit hashes of their ids (exposure.ngram_hashes' polynomial), sorted, so
that counting a text of millions of characters and looking up any batch of n-grams are a sort
and a binary search. The order is chosen on held-out text (`fit`): the one with the lowest loss.
"""

from __future__ import annotations

import numpy as np

DISCOUNT = 0.75
MAX_ORDER = 8
PRIME = np.uint64(0x100000001B3)


def hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit hash of the n-gram ending at each position (positions before n-1: unused, 0);
    n = 0 gives the hash of the empty context (0) everywhere."""
    ids = np.asarray(ids, dtype=np.uint64)
    h = np.zeros(len(ids), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):  # h[i] = poly(ids[i-n+1 .. i])
            shifted = np.zeros(len(ids), dtype=np.uint64)
            if n - 1 - j < len(ids):
                shifted[n - 1 - j:] = ids[: len(ids) - (n - 1 - j)] + np.uint64(1)
            h = h * PRIME + shifted
    return h


class Table:
    """Sorted distinct keys with a value each, looked up in batches (0 where absent)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        self.keys, self.values = keys, values

    @classmethod
    def count(cls, keys: np.ndarray) -> "Table":
        k, c = np.unique(keys, return_counts=True)
        return cls(k, c.astype(np.float64))

    def __getitem__(self, query: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(query))
        i = np.minimum(np.searchsorted(self.keys, query), len(self.keys) - 1)
        return np.where(self.keys[i] == query, self.values[i], 0.0)


class KneserNey:
    """Counts for every order up to `max_order` at once; `order` says which one scores."""

    def __init__(self, ids: np.ndarray, vocab_size: int, max_order: int = MAX_ORDER):
        self.V, self.max_order, self.order = vocab_size, max_order, max_order
        ids = np.asarray(ids, dtype=np.int64)
        N = len(ids)
        H = [hashes(ids, k) for k in range(max_order + 2)]  # H[k][i]: the k-gram ending at i

        def context(k, at):  # hashes of the (k-1)-grams ending just before positions `at`
            return H[k - 1][at - 1] if k > 1 else np.zeros(len(at), dtype=np.uint64)

        def distinct(k, lo):  # one position per distinct k-gram among those ending at lo .. N-1
            at = np.arange(lo, N)
            return at[np.unique(H[k][at], return_index=True)[1]]

        self.raw, self.cont, self.followers = {}, {}, {}
        for k in range(1, max_order + 1):
            at = np.arange(k - 1, N)
            self.raw[k] = (Table.count(H[k][at]), Table.count(context(k, at)))  # C(c w), C(c .)
            firsts = distinct(k, k - 1)
            self.followers[k] = Table.count(context(k, firsts))  # N1+(c .)
            if k < max_order:
                longer = distinct(k + 1, k)  # each distinct (k+1)-gram x c w: one continuation of c w
                self.cont[k] = (Table.count(H[k][longer]), Table.count(context(k, longer)))  # N1+(. c w), N1+(. c .)

    def log_probs(self, ids: np.ndarray, start: int = 0, order: int | None = None) -> np.ndarray:
        """ln P(ids[i] | the characters before it in ids) for i = start .. len(ids) - 1."""
        order = order or self.order
        ids = np.asarray(ids, dtype=np.int64)
        idx = np.arange(start, len(ids))
        p = np.full(len(idx), 1.0 / self.V)
        for k in range(1, order + 1):
            full, ctx = self.raw[k] if k == order else self.cont[k]
            known = idx >= k - 1  # enough characters before for a context of k - 1
            hk = hashes(ids, k)[idx]
            hc = hashes(ids, k - 1)[np.maximum(idx - 1, 0)] if k > 1 else np.zeros(len(idx), np.uint64)
            c_ctx = np.where(known, ctx[hc], 0.0)
            seen = c_ctx > 0
            safe = np.where(seen, c_ctx, 1.0)
            alpha = np.maximum(full[hk] - DISCOUNT, 0.0) / safe
            lam = DISCOUNT * self.followers[k][hc] / safe
            p = np.where(seen, alpha + lam * p, p)
        return np.log(p)

    def loss(self, ids: np.ndarray, start: int = 0, order: int | None = None) -> float:
        return float(-self.log_probs(ids, start, order).mean())


def fit(train_ids: np.ndarray, held_out: np.ndarray, vocab_size: int, max_order: int = MAX_ORDER):
    """The judge, set to the order (1..max_order) with the lowest loss on held-out text, and the
    held-out loss of each order: (KneserNey, {order: nats/char})."""
    model = KneserNey(train_ids, vocab_size, max_order)
    losses = {k: model.loss(held_out, start=1, order=k) for k in range(1, max_order + 1)}
    model.order = min(losses, key=losses.get)
    return model, losses
