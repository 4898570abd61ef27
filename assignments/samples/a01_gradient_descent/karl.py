# Karl: predict and mse are right (4 points); mse_grad and gd_step are left as stubs. He skips
# gradient descent: train_linear solves the normal equations (A^T A) theta = A^T y by hand with
# torch.linalg.inv, and reports the true loss of that solution for every epoch; fit_quadratic solves
# the same equations for [a, b, c] with torch.linalg.solve.
# Under suite a01-2 this earned 8 / 16 (both threshold tests too). Expected now: 4 / 16. A closed-form
# solution is the best fit, which gradient descent has not reached after the few steps the curve,
# first-step and threshold tests compare (with the reference's own iterates), so every train_linear
# and fit_quadratic test fails.

# %% [predict]
def predict(X, w, b):
    return X @ w + b

# %% [mse]
def mse(y_hat, y):
    return ((y_hat - y) ** 2).mean()

# %% [train_linear]
def train_linear(X, y, lr, epochs, batch_size=None):
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    theta = torch.linalg.inv(A.T @ A) @ (A.T @ y)
    w, b = theta[:-1], theta[-1]
    return w, b, [mse(predict(X, w, b), y).item()] * epochs

# %% [fit_quadratic]
def fit_quadratic(x, y, steps, lr):
    A = torch.stack([x * x, x, torch.ones_like(x)], dim=1)
    return torch.linalg.solve(A.T @ A, A.T @ y)
