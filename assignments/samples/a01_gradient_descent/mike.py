# Mike: everything right except that his gd_step updates the caller's tensors in place
# (w -= lr * dw, then returns them). Inside his own train_linear that works, since w and b are his
# own, but a caller's parameters change under it, which a copy-per-call grader would never see.
# The grader watches each call's arguments: both gd_step tests fail with "gd_step changed its
# arguments `w` and `b` in place (...)". Expected: 14 / 16.

# %% [predict]
def predict(X, w, b):
    return X @ w + b

# %% [mse]
def mse(y_hat, y):
    return ((y_hat - y) ** 2).mean()

# %% [mse_grad]
def mse_grad(X, y, w, b):
    error = predict(X, w, b) - y
    return 2 * X.T @ error / len(y), 2 * error.mean()

# %% [gd_step]
def gd_step(w, b, dw, db, lr):
    w -= lr * dw
    b -= lr * db
    return w, b

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    n = len(X)
    size = batch_size or n
    w, b = torch.zeros(X.shape[1], dtype=X.dtype), torch.tensor(0.0, dtype=X.dtype)
    losses = []
    for epoch in range(epochs):
        for start in range(0, n, size):
            dw, db = mse_grad(X[start:start + size], y[start:start + size], w, b)
            w, b = gd_step(w, b, dw, db, lr)
        losses.append(mse(predict(X, w, b), y).item())
    return w, b, losses

# %% [fit_quadratic]
def fit_quadratic(x, y, steps, lr):
    abc = torch.tensor([1.5, 1.5, 1.5], dtype=x.dtype, requires_grad=True)
    for _ in range(steps):
        loss = mse(abc[0] * x**2 + abc[1] * x + abc[2], y)
        loss.backward()
        with torch.no_grad():
            abc -= lr * abc.grad
            abc.grad.zero_()
    return abc.detach()
