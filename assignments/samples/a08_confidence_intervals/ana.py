# Ana: everything right, in styles of her own: z from torch.distributions.Normal in float64, the bootstrap
# with numpy's default_rng and np.percentile, and the conformal cut taken on the probabilities (the k-th
# largest true-class probability, which is 1 - q_hat): 14 / 14.

# %% [normal_approx_ci]
def normal_approx_ci(accuracy, n, confidence=0.95):
    standard = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    z = standard.icdf(torch.tensor(1 - (1 - confidence) / 2, dtype=torch.float64)).item()
    acc = float(accuracy)
    se = (acc * (1 - acc) / n) ** 0.5
    return (acc - z * se, acc + z * se)

# %% [bootstrap_ci]
def bootstrap_ci(y_true, y_pred, n_rounds=1000, confidence=0.95, seed=0):
    hits = (np.asarray(y_true) == np.asarray(y_pred)).astype(np.float64)
    rng = np.random.default_rng(seed)
    accs = np.array([hits[rng.integers(0, len(hits), len(hits))].mean() for _ in range(n_rounds)])
    lo, hi = np.percentile(accs, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(lo), float(hi)

# %% [conformal_sets]
def conformal_sets(cal_probs, cal_labels, test_probs, alpha=0.1):
    n = cal_probs.shape[0]
    k = math.ceil((n + 1) * (1 - alpha))
    if k > n:
        return torch.ones(test_probs.shape, dtype=torch.bool)
    true_probs = cal_probs.gather(1, cal_labels.unsqueeze(1)).squeeze(1)
    cut = torch.sort(true_probs, descending=True).values[k - 1]  # 1 - (k-th smallest score)
    return test_probs >= cut
