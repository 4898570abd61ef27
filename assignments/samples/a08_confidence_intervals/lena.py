# Lena: partly right. Her z is 1.96 whatever the confidence (right at 95 %, wrong at 80, 90 and 99 %:
# test_values fails). Her q_hat is torch.quantile(scores, k / n, interpolation='higher'), the (k + 1)-th
# smallest score when k < n, and an error when k > n: every exact conformal test fails, while the coverage
# on the hidden split holds (a slightly larger threshold). 9 / 14.

# %% [normal_approx_ci]
def normal_approx_ci(accuracy, n, confidence=0.95):
    accuracy = float(accuracy)
    half_width = 1.96 * math.sqrt(accuracy * (1 - accuracy) / n)
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
    level = math.ceil((n + 1) * (1 - alpha)) / n
    q_hat = torch.quantile(scores, level, interpolation="higher")
    return (1 - test_probs) <= q_hat
