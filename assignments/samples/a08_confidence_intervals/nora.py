# Nora: her bootstrap draws from the global random state and never uses the seed, so the same seed twice
# gives two different intervals (test_same_seed_same_interval fails); its percentiles are right. 13 / 14.

# %% [normal_approx_ci]
def normal_approx_ci(accuracy, n, confidence=0.95):
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    accuracy = float(accuracy)
    half_width = z * math.sqrt(accuracy * (1 - accuracy) / n)
    return accuracy - half_width, accuracy + half_width

# %% [bootstrap_ci]
def bootstrap_ci(y_true, y_pred, n_rounds=1000, confidence=0.95, seed=0):
    correct = (y_true == y_pred).float()
    n = len(correct)
    rows = torch.randint(0, n, (n_rounds, n))
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

