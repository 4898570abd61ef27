# Jack: writes zscore with numpy's keyword names (t.std(axis=dim, ddof=1)), which torch does not take:
# zscore raises a TypeError, so every zscore test fails with his traceback, and so does his price model,
# which calls it. His make_dummies is right.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(axis=dim)
    std = t.std(axis=dim, ddof=1)
    normalized = (t - mean.unsqueeze(dim)) / std.unsqueeze(dim)
    return normalized, mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df, columns=columns, drop_first=drop_first, dtype="float32")

# %% [train_price_model]
def train_price_model(df):
    numeric = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]
    X, x_mean, x_std = zscore(as_tensor(df, numeric))
    y, y_mean, y_std = zscore(as_tensor(df, ["fuel_cost"])[:, 0])
    neuron, _ = fit_neuron(torch.cat([X, origin_dummies(df)], dim=1), y)

    def predict(frame):
        X_new = (as_tensor(frame, numeric) - x_mean) / x_std
        with torch.no_grad():
            return neuron(torch.cat([X_new, origin_dummies(frame)], dim=1)).squeeze(1) * y_std + y_mean

    return predict
