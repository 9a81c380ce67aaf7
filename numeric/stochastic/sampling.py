"""How minibatches are drawn from n samples, and the exact batch distribution for small n.

- with replacement: B i.i.d. uniform indices (a batch may repeat a sample);
- without replacement: a uniform B-subset of {0, ..., n-1} (B distinct samples);
- random reshuffling (``epoch_batches``): a uniform permutation cut into n / B consecutive batches.

``all_batches`` lists the exact distribution: without replacement all C(n, B) subsets with probability
1 / C(n, B); with replacement all multisets {i_1 <= ... <= i_B} with the multinomial probability
B! / (m_0! ... m_{n-1}!) n^{-B} (m_j = multiplicity of j), equivalent to the n^B ordered tuples for any
statistic symmetric in the batch (such as the batch mean).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np

from numeric.validation import _int

__all__ = ["batch_indices", "epoch_batches", "all_batches", "batch_count", "MAX_BATCHES"]

MAX_BATCHES = 1_000_000


def _rng(rng) -> np.random.Generator:
    """Return rng unchanged after checking it is a numpy Generator."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    return rng


def _sizes(n, batch, with_replacement: bool) -> tuple[int, int]:
    """Validate n >= 1 and 1 <= batch (<= n without replacement)."""
    n = _int("n", n, 1)
    batch = _int("batch", batch, 1)
    if not with_replacement and batch > n:
        raise ValueError(f"batch must be at most n = {n} without replacement, got {batch}")
    return n, batch


def batch_count(n: int, batch: int, with_replacement: bool) -> int:
    """Number of distinct batches listed by ``all_batches``: C(n + B - 1, B) multisets or C(n, B) subsets."""
    n, batch = _sizes(n, batch, with_replacement)
    return math.comb(n + batch - 1, batch) if with_replacement else math.comb(n, batch)


def batch_indices(rng, n: int, batch: int, with_replacement: bool) -> np.ndarray:
    """One minibatch: ``batch`` indices in [0, n); i.i.d. uniform with replacement, else a uniform subset
    of distinct indices (in random order)."""
    rng = _rng(rng)
    n, batch = _sizes(n, batch, with_replacement)
    return _draw(rng, n, batch, with_replacement)


def _draw(rng: np.random.Generator, n: int, batch: int, with_replacement: bool) -> np.ndarray:
    """``batch_indices`` without argument checks (for loops that validated once)."""
    if with_replacement:
        return rng.integers(0, n, size=batch)
    return rng.choice(n, size=batch, replace=False)


def epoch_batches(rng, n: int, batch: int) -> list[np.ndarray]:
    """Random reshuffling: a uniform permutation of range(n) cut into n // batch batches of size ``batch``
    (each sample used exactly once per epoch; n must be a multiple of batch)."""
    rng = _rng(rng)
    n, batch = _sizes(n, batch, with_replacement=False)
    if n % batch:
        raise ValueError(f"n = {n} must be a multiple of batch = {batch} for random reshuffling")
    perm = rng.permutation(n)
    return [perm[k:k + batch] for k in range(0, n, batch)]


def all_batches(n: int, batch: int, with_replacement: bool) -> list[tuple[tuple[int, ...], float]]:
    """The exact batch distribution as ``[(indices, probability), ...]`` (probabilities sum to 1).

    Without replacement: every B-subset, probability 1 / C(n, B).  With replacement: every multiset
    (sorted tuple) with probability B! / prod_j m_j! * n^{-B}.  Refuses more than ``MAX_BATCHES`` batches.
    """
    count = batch_count(n, batch, with_replacement)
    if count > MAX_BATCHES:
        kind = "multisets" if with_replacement else "subsets"
        size = str(count) if count < 10 ** 12 else f"~10^{len(str(count)) - 1}"
        raise ValueError(f"n = {n}, batch = {batch} gives {size} {kind}, more than {MAX_BATCHES}; use Monte Carlo")
    if not with_replacement:
        p = 1.0 / count
        return [(c, p) for c in itertools.combinations(range(n), batch)]
    log_total = batch * math.log(n)
    lf_batch = math.lgamma(batch + 1)
    out = []
    for c in itertools.combinations_with_replacement(range(n), batch):
        log_w = lf_batch - sum(math.lgamma(m + 1) for m in Counter(c).values())
        out.append((c, math.exp(log_w - log_total)))
    return out
