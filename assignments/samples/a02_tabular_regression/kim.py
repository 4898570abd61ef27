# Kim: zscore and make_dummies right, but her training loop runs "until the loss is below 0.001", which
# a linear model of these costs never reaches (its best is about 0.1): train_price_model never returns.
# Each of the three price-model tests runs into the per-call time limit, as does the notebook cell that
# trains her model (then skipped); the kernel is replaced and grading goes on.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim)
    std = t.std(dim=dim)
    safe = torch.where(std > 0, std, torch.ones_like(std))
    normalized = (t - mean.unsqueeze(dim)) / safe.unsqueeze(dim)
    return normalized, mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df, columns=columns, drop_first=drop_first, dtype="float32")

# %% [train_price_model]
def train_price_model(df):
    numeric = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]
    X, x_mean, x_std = zscore(as_tensor(df, numeric))
    X = torch.cat([X, origin_dummies(df)], dim=1)
    y, y_mean, y_std = zscore(as_tensor(df, ["fuel_cost"])[:, 0])
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.SGD(neuron.parameters(), lr=0.1)
    loss = torch.tensor(1.0)
    while loss.item() > 0.001:
        optimizer.zero_grad()
        loss = ((neuron(X).squeeze(1) - y) ** 2).mean()
        loss.backward()
        optimizer.step()

    def predict(frame):
        X_new = torch.cat([(as_tensor(frame, numeric) - x_mean) / x_std, origin_dummies(frame)], dim=1)
        with torch.no_grad():
            return neuron(X_new).squeeze(1) * y_std + y_mean

    return predict
