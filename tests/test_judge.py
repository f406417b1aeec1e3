"""The exposure-bias judge: an interpolated Kneser-Ney character n-gram model (charrnn/reports/judge.py)."""

import numpy as np
import pytest

from charrnn.reports.judge import KneserNey, fit


def markov_text(rng, n, V=6):
    """ids from a first-order Markov chain with a sharp transition matrix: its entropy rate."""
    P = rng.dirichlet(np.full(V, 0.3), size=V)  # (V, V) rows: P(next | current)
    ids = np.zeros(n, dtype=np.int64)
    for i in range(1, n):
        ids[i] = rng.choice(V, p=P[ids[i - 1]])
    pi = np.linalg.matrix_power(P.T, 200)[:, 0]  # the stationary distribution
    entropy = -(pi[:, None] * P * np.log(P)).sum()
    return ids, entropy


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_probabilities_of_every_next_character_sum_to_one(order):
    rng = np.random.default_rng(0)
    train, _ = markov_text(rng, 3000)
    V = 7  # one character never seen in training
    judge = KneserNey(train, V, max_order=5)
    for context in (train[100:106], np.array([6, 6, 6, 6, 6, 6]), np.array([0, 1, 2, 3, 4, 5])):
        total = sum(np.exp(judge.log_probs(np.r_[context, w], start=len(context), order=order))[0] for w in range(V))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_a_character_never_seen_in_training_gets_a_finite_loss():
    train, _ = markov_text(np.random.default_rng(1), 2000)
    judge = KneserNey(train, 7, max_order=4)
    lp = judge.log_probs(np.r_[train[:20], 6, 6, 0], start=20)
    assert np.all(np.isfinite(lp)) and lp[0] < np.log(0.05)


def test_fit_chooses_an_order_that_reads_the_chain_and_reaches_its_entropy():
    rng = np.random.default_rng(2)
    ids, entropy = markov_text(rng, 60_000)
    judge, losses = fit(ids[:50_000], ids[50_000:], 6, max_order=6)
    assert judge.order >= 2 and losses[judge.order] < losses[1] - 0.1  # the previous character matters
    assert losses[judge.order] == pytest.approx(entropy, abs=0.05)  # and it comes close to the source


def test_a_repeated_pattern_is_predicted_almost_surely():
    ids = np.tile(np.arange(5), 400)
    judge, losses = fit(ids[:1500], ids[1500:], 5, max_order=4)
    assert losses[judge.order] < 0.05 and losses[1] == pytest.approx(np.log(5), abs=0.01)
