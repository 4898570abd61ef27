# Eve: standardizes with the population standard deviation (correction=0, divided by n), as numpy's
# np.std does by default: every zscore test fails, each naming that mistake. Her dummies are right, and
# for the price model the n against n - 1 makes no difference: its tests pass.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim, keepdim=True)
    std = t.std(dim=dim, keepdim=True, correction=0)
    normalized = torch.where(std > 0, (t - mean) / torch.where(std > 0, std, 1.0), 0.0)
    return normalized, mean.squeeze(dim), std.squeeze(dim)

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
