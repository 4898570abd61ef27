# Jade: resamples y_true and y_pred separately (two index draws), which breaks the pairs: her bootstrap
# accuracies sit at chance level. Seeded, so reproducible; everything else right. 11 / 14.

# %% [normal_approx_ci]
def normal_approx_ci(accuracy, n, confidence=0.95):
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    accuracy = float(accuracy)
    half_width = z * math.sqrt(accuracy * (1 - accuracy) / n)
    return accuracy - half_width, accuracy + half_width

# %% [bootstrap_ci]
def bootstrap_ci(y_true, y_pred, n_rounds=1000, confidence=0.95, seed=0):
    n = len(y_true)
    generator = torch.Generator().manual_seed(seed)
    accuracies = []
    for _ in range(n_rounds):
        true_sample = y_true[torch.randint(0, n, (n,), generator=generator)]
        pred_sample = y_pred[torch.randint(0, n, (n,), generator=generator)]
        accuracies.append((true_sample == pred_sample).float().mean())
    accuracies = torch.stack(accuracies)
    tail = (1 - confidence) / 2
    return torch.quantile(accuracies, tail).item(), torch.quantile(accuracies, 1 - tail).item()

# %% [conformal_sets]
def conformal_sets(cal_probs, cal_labels, test_probs, alpha=0.1):
    n = len(cal_labels)
    scores = 1 - cal_probs[torch.arange(n), cal_labels]
    k = math.ceil((n + 1) * (1 - alpha))
    q_hat = math.inf if k > n else torch.sort(scores).values[k - 1]
    return (1 - test_probs) <= q_hat

