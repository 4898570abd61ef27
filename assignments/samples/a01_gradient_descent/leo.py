# Leo: everything correct, in yet another style, to keep the threshold tests honest about fairness:
# he trains in float64 inside his functions (results handed back in the input's dtype), steps with
# torch.add(..., alpha=-lr), batches with torch.split, and updates the quadratic's coefficients
# through .data instead of torch.no_grad. Expected: 16 / 16.

# %% [predict]
def predict(X, w, b):
    return torch.mv(X, w) + b

# %% [mse]
def mse(y_hat, y):
    return torch.nn.functional.mse_loss(y_hat, y)

# %% [mse_grad]
def mse_grad(X, y, w, b):
    X64, y64 = X.double(), y.double()
    error = X64 @ w.double() + b.double() - y64
    n = X.shape[0]
    dw = 2.0 / n * (X64 * error[:, None]).sum(dim=0)
    db = 2.0 / n * error.sum()
    return dw.to(X.dtype), db.to(X.dtype)

# %% [gd_step]
def gd_step(w, b, dw, db, lr):
    return torch.add(w, dw, alpha=-lr), torch.add(b, db, alpha=-lr)

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    X64, y64 = X.double(), y.double()
    size = len(X) if batch_size is None else batch_size
    batches = list(zip(X64.split(size), y64.split(size)))
    w = torch.zeros(X.shape[1], dtype=torch.float64)
    b = torch.tensor(0.0, dtype=torch.float64)
    losses = []
    for _ in range(epochs):
        for X_batch, y_batch in batches:
            dw, db = mse_grad(X_batch, y_batch, w, b)
            w, b = gd_step(w, b, dw, db, lr)
        losses.append(float(mse(predict(X64, w, b), y64)))
    return w.to(X.dtype), b.to(X.dtype), losses

# %% [fit_quadratic]
def fit_quadratic(x, y, steps, lr):
    x64, y64 = x.double(), y.double()
    abc = torch.full((3,), 1.5, dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        loss = mse(abc[0] * x64**2 + abc[1] * x64 + abc[2], y64)
        abc.grad = None
        loss.backward()
        abc.data -= lr * abc.grad.data
    return abc.detach().to(x.dtype)
