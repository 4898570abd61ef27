# Alice: everything correct, vectorized with matrix products.

# %% [predict]
def predict(X, w, b):
    return X @ w + b

# %% [mse]
def mse(y_hat, y):
    return ((y_hat - y) ** 2).mean()

# %% [mse_grad]
def mse_grad(X, y, w, b):
    residual = predict(X, w, b) - y
    n = len(y)
    return 2 / n * X.T @ residual, 2 / n * residual.sum()

# %% [gd_step]
def gd_step(w, b, dw, db, lr):
    return w - lr * dw, b - lr * db

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    n, d = X.shape
    size = batch_size or n
    w, b = torch.zeros(d, dtype=X.dtype), torch.zeros((), dtype=X.dtype)
    losses = []
    for epoch in range(epochs):
        for start in range(0, n, size):
            dw, db = mse_grad(X[start:start + size], y[start:start + size], w, b)
            w, b = gd_step(w, b, dw, db, lr)
        losses.append(mse(predict(X, w, b), y).item())
    return w, b, losses

# %% [fit_quadratic]
def fit_quadratic(x, y, steps, lr):
    abc = torch.tensor([1.5, 1.5, 1.5], dtype=x.dtype)
    abc.requires_grad_()
    for _ in range(steps):
        loss = mse(abc[0] * x**2 + abc[1] * x + abc[2], y)
        loss.backward()
        with torch.no_grad():
            abc -= abc.grad * lr
            abc.grad.zero_()
    return abc.detach()
