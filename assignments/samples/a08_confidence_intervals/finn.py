# Finn: his threshold is the k-th smallest score with k = ceil(n (1 - alpha)), without the (n + 1)
# correction: a slightly smaller threshold, so every exact comparison of the mask fails (the suite sends the
# calibration rows among the test rows, one of them exactly on q_hat). The coverage on the hidden split is
# still about 1 - alpha (short by about 1 / n), so test_coverage passes: 10 / 14.

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
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, n, (n_rounds, n), generator=generator)
    accuracies = correct[rows].mean(dim=1)
    tail = (1 - confidence) / 2
    return torch.quantile(accuracies, tail).item(), torch.quantile(accuracies, 1 - tail).item()

# %% [conformal_sets]
def conformal_sets(cal_probs, cal_labels, test_probs, alpha=0.1):
    n = len(cal_labels)
    scores = 1 - cal_probs[torch.arange(n), cal_labels]
    k = math.ceil(n * (1 - alpha))
    q_hat = torch.sort(scores).values[k - 1]
    return (1 - test_probs) <= q_hat
