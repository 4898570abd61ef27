# Ben: everything right, written out by hand: the sample standard deviation from its formula (sum of
# squares over n - 1), dummies built level by level, and a model trained with Adam in float64 with his
# own loop, predictions turned back into dollars and float32 at the end.

# %% [zscore]
def zscore(t, dim=0):
    n = t.shape[dim]
    mean = t.sum(dim=dim, keepdim=True) / n
    centred = t - mean
    std = torch.sqrt((centred ** 2).sum(dim=dim, keepdim=True) / (n - 1))
    normalized = torch.zeros_like(t)
    nonzero = (std > 0).expand_as(t)
    normalized[nonzero] = (centred / std)[nonzero]
    return normalized, mean.squeeze(dim), std.squeeze(dim)

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    result = df.drop(columns=columns)
    for column in columns:
        values = df[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = list(values.cat.categories)
        else:
            levels = sorted(values.unique())
        if drop_first:
            levels = levels[1:]
        for level in levels:
            result[f"{column}_{level}"] = (values == level).astype("float32")
    return result

# %% [train_price_model]
NUMERIC = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]


def ben_inputs(frame):
    origins = pd.Categorical(frame["origin"], categories=["Europe", "Japan", "USA"])
    dummies = torch.tensor(np.stack([origins == "Japan", origins == "USA"], axis=1), dtype=torch.float64)
    return torch.tensor(frame[NUMERIC].to_numpy(dtype="float64")), dummies


def train_price_model(df):
    numbers, dummies = ben_inputs(df)
    X, x_mean, x_std = zscore(numbers)
    y, y_mean, y_std = zscore(torch.tensor(df["fuel_cost"].to_numpy(dtype="float64")))
    X = torch.cat([X, dummies], dim=1)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w, b], lr=0.02)
    for _ in range(1500):
        optimizer.zero_grad()
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        optimizer.step()

    def predict(frame):
        numbers, dummies = ben_inputs(frame)
        X_new = torch.cat([(numbers - x_mean) / x_std, dummies], dim=1)
        with torch.no_grad():
            return ((X_new @ w + b) * y_std + y_mean).float()

    return predict
