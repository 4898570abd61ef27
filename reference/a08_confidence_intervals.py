"""Reference solutions of a08_confidence_intervals (hidden: the grader loads it, students never see it).

Written independently of the source notebook's solution cells (which use ``statistics.NormalDist``, one
``torch.randint`` matrix of resampled rows with ``torch.quantile``, and ``sort`` for the k-th smallest
score): the z value from ``torch.special.ndtri`` in float64, the bootstrap drawn in chunks of rounds with
the percentiles interpolated by hand between order statistics, and the conformal threshold from
``torch.kthvalue``. Besides the notebook's functions it holds the suite's helper ``bootstrap_cdf``: the
exact distribution of a bootstrap accuracy, against which the suite places a student's percentiles.
"""

import math

import torch

# Rounds x examples drawn at once: bounds the bootstrap's memory (8 bytes per index) whatever n_rounds is.
CHUNK_DRAWS = 4_000_000


def normal_approx_ci(accuracy, n, confidence=0.95):
    acc = float(accuracy)
    # The two-sided quantile: a share (1 - confidence) / 2 of the normal distribution lies above z.
    z = float(torch.special.ndtri(torch.tensor((1.0 + confidence) / 2.0, dtype=torch.float64)))
    half_width = z * math.sqrt(acc * (1.0 - acc) / n)
    return acc - half_width, acc + half_width  # not clipped to [0, 1]: the approximation's own answer


def _percentile(sorted_values, q):
    # Linear interpolation between order statistics (numpy's and torch.quantile's default).
    position = q * (len(sorted_values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    share = position - below
    return float(sorted_values[below] * (1.0 - share) + sorted_values[above] * share)


def bootstrap_ci(y_true, y_pred, n_rounds=1000, confidence=0.95, seed=0):
    right = (torch.as_tensor(y_true).reshape(-1) == torch.as_tensor(y_pred).reshape(-1)).to(torch.float64)
    n = right.numel()
    draws = torch.Generator().manual_seed(seed)
    accuracies, done = [], 0
    rows = max(1, CHUNK_DRAWS // max(n, 1))
    while done < n_rounds:
        take = min(rows, n_rounds - done)
        picks = torch.randint(0, n, (take, n), generator=draws)  # n examples, with replacement, per round
        accuracies.append(right[picks].mean(dim=1))
        done += take
    ordered = torch.sort(torch.cat(accuracies)).values
    tail = (1.0 - confidence) / 2.0
    return _percentile(ordered, tail), _percentile(ordered, 1.0 - tail)


def conformal_sets(cal_probs, cal_labels, test_probs, alpha=0.1):
    n = cal_probs.shape[0]
    scores = 1.0 - torch.take_along_dim(cal_probs, cal_labels.reshape(-1, 1).long(), dim=1).reshape(-1)
    k = math.ceil((n + 1) * (1.0 - alpha))
    threshold = torch.kthvalue(scores, k).values if k <= n else torch.tensor(math.inf, dtype=scores.dtype)
    return (1.0 - test_probs) <= threshold


def bootstrap_cdf(n_right, n):
    """P(K <= j) for j = 0 .. n, K ~ Binomial(n, n_right / n), as a float64 tensor of n + 1 values.

    Resampling n examples with replacement from a test set with n_right right answers gives a number of
    right answers that is exactly Binomial(n, n_right / n): the bootstrap distribution of the accuracy,
    K / n, without any sampling.
    """
    j = torch.arange(n + 1, dtype=torch.float64)
    p = n_right / n
    if p in (0.0, 1.0):
        return (j >= (n if p == 1.0 else 0)).to(torch.float64)
    log_pmf = (torch.lgamma(torch.tensor(n + 1.0, dtype=torch.float64)) - torch.lgamma(j + 1) - torch.lgamma(n - j + 1)
               + j * math.log(p) + (n - j) * math.log1p(-p))
    return torch.cumsum(torch.exp(log_pmf), dim=0).clamp(max=1.0)
