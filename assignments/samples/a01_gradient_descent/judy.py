# Judy: hard-codes instead of training. train_linear returns the notebook's public °C -> °F answer,
# w = 1.8 and b = 32, with the true loss of those parameters on the data it gets (so her loss curve
# does belong to what she returns); fit_quadratic jumps to the best fit in closed form with
# torch.linalg.lstsq. Every other function is the release stub.
# Under suite a01-2 this earned 4 / 16 (the two threshold tests). Expected now: 0 / 16. The curve and
# first-step tests compare with the reference's gradient-descent iterates; the threshold tests first
# check a few unconverged gradient steps (a closed form lands on the best fit, not on that iterate;
# 1.8 / 32 on neither), then ask for a secret relation drawn per student, never 1.8 / 32.

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    w = torch.full((X.shape[1],), 1.8, dtype=X.dtype)
    b = torch.tensor(32.0, dtype=X.dtype)
    loss = ((X @ w + b - y) ** 2).mean().item()
    return w, b, [loss] * epochs

# %% [fit_quadratic]
def fit_quadratic(x, y, steps, lr):
    A = torch.stack([x**2, x, torch.ones_like(x)], dim=1)
    return torch.linalg.lstsq(A, y.unsqueeze(1)).solution.squeeze(1)
