# Ivy: right answers everywhere, but her make_dummies builds the dummies inside the frame it is given
# (df[...] = ..., then df.drop(..., inplace=True)) and returns it: the caller's frame is changed, which
# the grader refuses in every make_dummies test, naming the argument (0 of 5). Her price model works on
# frames she builds herself: its tests pass.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim)
    std = t.std(dim=dim)
    std_kept = std.unsqueeze(dim)
    normalized = torch.where(std_kept > 0, (t - mean.unsqueeze(dim)) / std_kept.clamp(min=1e-30), 0.0)
    return normalized, mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    for column in columns:
        dummies = pd.get_dummies(df[column], prefix=column, drop_first=drop_first, dtype="float32")
        for name in dummies.columns:
            df[name] = dummies[name]
    df.drop(columns=columns, inplace=True)
    return df

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
