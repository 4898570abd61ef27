# Carol: partially correct. Her mse_grad forgets the factor 2 of the derivative (subtly wrong: the
# direction is right, the size is half). Her train_linear uses autograd instead, so it is right.
# She did not get to fit_quadratic (stub left).

# %% [predict]
def predict(X, w, b):
    return X @ w + b

# %% [mse]
def mse(y_hat, y):
    return torch.mean((y_hat - y) ** 2)

# %% [mse_grad]
def mse_grad(X, y, w, b):
    error = predict(X, w, b) - y
    return X.T @ error / len(y), error.mean()

# %% [gd_step]
def gd_step(w, b, dw, db, lr):
    return w - lr * dw, b - lr * db

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    n = len(X)
    batch_size = batch_size or n
    w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
    b = torch.zeros((), dtype=X.dtype, requires_grad=True)
    losses = []
    for epoch in range(epochs):
        for i in range(0, n, batch_size):
            loss = mse(predict(X[i:i + batch_size], w, b), y[i:i + batch_size])
            dw, db = torch.autograd.grad(loss, (w, b))
            with torch.no_grad():
                w -= lr * dw
                b -= lr * db
        with torch.no_grad():
            losses.append(mse(predict(X, w, b), y).item())
    return w.detach(), b.detach(), losses
