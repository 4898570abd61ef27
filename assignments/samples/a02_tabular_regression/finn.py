# Finn: divides by the std without a guard, so a constant column becomes nan (test_constant_column fails,
# saying so); and leaves pd.get_dummies' default dtype, bool, so his dummy columns are not float32 (the
# four make_dummies comparisons fail, naming the bool dtype; the frame is left unchanged). His price model
# converts the columns to float32 itself and has no constant column: its tests pass.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim)
    std = t.std(dim=dim)
    return (t - mean.unsqueeze(dim)) / std.unsqueeze(dim), mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df, columns=columns, drop_first=drop_first)

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
