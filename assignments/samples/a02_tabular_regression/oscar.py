# Oscar: his zscore always normalizes along dim 0, whatever dim is asked for (t.mean(0), t.std(0)): right
# for tables of columns (three zscore tests pass) but not for dim=1 or dim=2 (two fail, naming the
# mistake). The rest, which only normalizes columns, is right.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(0)
    std = t.std(0)
    normalized = torch.where(std > 0, (t - mean) / torch.where(std > 0, std, 1.0), 0.0)
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
