# Bob: everything correct, in a different style: sums and einsum, torch.split for batches,
# three separate parameters for the quadratic.

# %% [predict]
def predict(X, w, b):
    """One prediction per row."""
    return torch.sum(X * w, dim=1) + b

# %% [mse]
def mse(y_hat, y):
    differences = y_hat - y
    return torch.sum(differences * differences) / differences.numel()

# %% [mse_grad]
def mse_grad(X, y, w, b):
    n = X.shape[0]
    error = torch.sum(X * w, dim=1) + b - y
    dw = torch.einsum("ij,i->j", X, error) * 2 / n
    db = torch.sum(error) * 2 / n
    return dw, db

# %% [gd_step]
def gd_step(w, b, dw, db, lr):
    new_w = w.clone()
    new_w -= lr * dw
    new_b = b.clone()
    new_b -= lr * db
    return new_w, new_b

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    if batch_size is None:
        batch_size = X.shape[0]
    w = X.new_zeros(X.shape[1])
    b = X.new_zeros(())
    history = []
    for epoch in range(epochs):
        for X_batch, y_batch in zip(torch.split(X, batch_size), torch.split(y, batch_size)):
            dw, db = mse_grad(X_batch, y_batch, w, b)
            w, b = gd_step(w, b, dw, db, lr)
        history.append(float(mse(predict(X, w, b), y)))
    return w, b, history

# %% [fit_quadratic]
def fit_quadratic(x, y, steps, lr):
    a = torch.tensor(1.5, dtype=x.dtype, requires_grad=True)
    b = torch.tensor(1.5, dtype=x.dtype, requires_grad=True)
    c = torch.tensor(1.5, dtype=x.dtype, requires_grad=True)
    for step in range(steps):
        loss = mse(a * x * x + b * x + c, y)
        loss.backward()
        with torch.no_grad():
            for parameter in (a, b, c):
                parameter -= lr * parameter.grad
                parameter.grad = None
    return torch.stack([a, b, c]).detach()
