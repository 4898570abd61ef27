# Heidi: everything right up to fit_quadratic, which ends the whole kernel process (os._exit(3))
# when called. Only the fit_quadratic tests are lost; the kernel is restarted for the rest.

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
    return w - lr * dw, b - lr * db

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
import os

def fit_quadratic(x, y, steps, lr):
    os._exit(3)
