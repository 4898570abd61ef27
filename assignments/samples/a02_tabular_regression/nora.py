# Nora: her make_dummies returns only the dummy columns (pd.get_dummies of the listed columns alone), so
# the other columns are lost: the four make_dummies comparisons fail, naming it; the frame is unchanged.
# Her price model only ever passes origin to make_dummies, so it never notices: its tests pass, as do
# her zscore's.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim, keepdim=True)
    std = t.std(dim, keepdim=True)
    normalized = (t - mean) / std
    normalized = normalized.masked_fill(std == 0, 0.0)
    return normalized, mean.squeeze(dim), std.squeeze(dim)

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df[columns], columns=columns, drop_first=drop_first, dtype="float32")

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
