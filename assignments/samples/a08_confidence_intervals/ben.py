# Ben: everything right, close to the notebook's formulas but written his own way: NormalDist for z, a Python
# loop of torch resamples with the nearest-rank percentile, and torch.kthvalue for q_hat: 14 / 14.

# %% [normal_approx_ci]
def normal_approx_ci(accuracy, n, confidence=0.95):
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = float(accuracy)
    margin = z * math.sqrt(p * (1 - p) / n)
    return p - margin, p + margin

# %% [bootstrap_ci]
def bootstrap_ci(y_true, y_pred, n_rounds=1000, confidence=0.95, seed=0):
    correct = (y_true == y_pred).double()
    n = len(correct)
    g = torch.Generator().manual_seed(seed)
    accuracies = []
    for _ in range(n_rounds):
        rows = torch.randint(0, n, (n,), generator=g)
        accuracies.append(correct[rows].mean().item())
    accuracies.sort()
    tail = (1 - confidence) / 2
    lower = accuracies[max(math.ceil(tail * n_rounds) - 1, 0)]
    upper = accuracies[max(math.ceil((1 - tail) * n_rounds) - 1, 0)]
    return lower, upper

# %% [conformal_sets]
def conformal_sets(cal_probs, cal_labels, test_probs, alpha=0.1):
    n = len(cal_labels)
    scores = 1 - cal_probs[torch.arange(n), cal_labels]
    k = math.ceil((n + 1) * (1 - alpha))
    q_hat = torch.kthvalue(scores, k).values if k <= n else torch.tensor(float("inf"))
    return 1 - test_probs <= q_hat
