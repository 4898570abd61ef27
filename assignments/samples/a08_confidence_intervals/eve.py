# Eve: clips the normal interval to [0, 1], which changes it only where it reaches past 1 (one mistake on
# a small test set: test_not_clipped fails). Everything else right: 13 / 14.

# %% [normal_approx_ci]
def normal_approx_ci(accuracy, n, confidence=0.95):
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    accuracy = float(accuracy)
    half_width = z * math.sqrt(accuracy * (1 - accuracy) / n)
    return max(0.0, accuracy - half_width), min(1.0, accuracy + half_width)

# %% [bootstrap_ci]
def bootstrap_ci(y_true, y_pred, n_rounds=1000, confidence=0.95, seed=0):
    correct = (y_true == y_pred).float()
    n = len(correct)
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, n, (n_rounds, n), generator=generator)
    accuracies = correct[rows].mean(dim=1)
    tail = (1 - confidence) / 2
    return torch.quantile(accuracies, tail).item(), torch.quantile(accuracies, 1 - tail).item()

# %% [conformal_sets]
def conformal_sets(cal_probs, cal_labels, test_probs, alpha=0.1):
    n = len(cal_labels)
    scores = 1 - cal_probs[torch.arange(n), cal_labels]
    k = math.ceil((n + 1) * (1 - alpha))
    q_hat = math.inf if k > n else torch.sort(scores).values[k - 1]
    return (1 - test_probs) <= q_hat

