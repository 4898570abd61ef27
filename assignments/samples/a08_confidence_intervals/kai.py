# Kai: did the two intervals (right) and left conformal_sets as the stub: 8 / 14.

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

