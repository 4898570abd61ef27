# Ana: everything right, in the notebook's own style: t.mean and t.std with torch.where for the constant
# column, pd.get_dummies, and the price model built from the notebook's helpers (fit_neuron,
# origin_dummies, as_tensor).

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim)
    std = t.std(dim=dim)
    std_kept = std.unsqueeze(dim)
    safe = torch.where(std_kept > 0, std_kept, torch.ones_like(std_kept))
    normalized = torch.where(std_kept > 0, (t - mean.unsqueeze(dim)) / safe, torch.zeros_like(t))
    return normalized, mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df, columns=columns, drop_first=drop_first, dtype="float32")

# %% [train_price_model]
def train_price_model(df):
    numeric = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]
    X, x_mean, x_std = zscore(as_tensor(df, numeric))
    y, y_mean, y_std = zscore(as_tensor(df, ["fuel_cost"])[:, 0])
    neuron, _ = fit_neuron(torch.cat([X, origin_dummies(df)], dim=1), y, steps=600, lr=0.1)

    def predict(frame):
        X_new = (as_tensor(frame, numeric) - x_mean) / x_std
        with torch.no_grad():
            return neuron(torch.cat([X_new, origin_dummies(frame)], dim=1)).squeeze(1) * y_std + y_mean

    return predict
