# Gina: returns mean and std with keepdim=True (shape (1, d) for a table), so every zscore test fails on
# the shapes, naming that mistake; and makes a dummy column for every level whatever drop_first says (the
# three drop_first=True tests fail, naming it; drop_first=False and the unchanged frame pass). Her price
# model broadcasts the (1, d) statistics correctly, and a third origin column does not hurt gradient
# descent: its tests pass.

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim, keepdim=True)
    std = t.std(dim=dim, keepdim=True)
    safe = torch.where(std > 0, std, torch.ones_like(std))
    return torch.where(std > 0, (t - mean) / safe, torch.zeros_like(t)), mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df, columns=columns, dtype="float32")

# %% [train_price_model]
def train_price_model(df):
    numeric = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]

    def inputs(frame):
        origin = pd.DataFrame({"origin": pd.Categorical(frame["origin"], categories=["Europe", "Japan", "USA"])})
        return as_tensor(frame, numeric), torch.tensor(make_dummies(origin, ["origin"]).to_numpy(dtype="float32"))

    numbers, dummies = inputs(df)
    X, x_mean, x_std = zscore(numbers)
    y, y_mean, y_std = zscore(as_tensor(df, ["fuel_cost"])[:, 0])
    neuron, _ = fit_neuron(torch.cat([X, dummies], dim=1), y)

    def predict(frame):
        numbers, dummies = inputs(frame)
        with torch.no_grad():
            return neuron(torch.cat([(numbers - x_mean) / x_std, dummies], dim=1)).squeeze(1) * y_std + y_mean

    return predict
