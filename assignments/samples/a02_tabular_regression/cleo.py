# Cleo: everything right in a third style: torch.var_mean and nan_to_num for the constant column, dummies
# concatenated column by column, and an nn.Sequential neuron trained with SGD and nn.MSELoss for 1,000
# steps, its normalization kept in a small class.

# %% [zscore]
def zscore(t, dim=0):
    var, mean = torch.var_mean(t, dim=dim)
    std = var.sqrt()
    normalized = torch.nan_to_num((t - mean.unsqueeze(dim)) / std.unsqueeze(dim), nan=0.0, posinf=0.0, neginf=0.0)
    return normalized, mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    parts = [df.drop(columns=columns)]
    for column in columns:
        parts.append(pd.get_dummies(df[column], prefix=column, drop_first=drop_first, dtype="float32"))
    return pd.concat(parts, axis=1)

# %% [train_price_model]
class PricePredictor:
    COLUMNS = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]

    def __init__(self, df):
        X, self.x_mean, self.x_std = zscore(torch.tensor(df[self.COLUMNS].to_numpy(), dtype=torch.float32))
        y, self.y_mean, self.y_std = zscore(torch.tensor(df["fuel_cost"].to_numpy(), dtype=torch.float32))
        self.model = nn.Sequential(nn.Linear(8, 1))
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        loss_fn = nn.MSELoss()
        X = torch.cat([X, self.dummies(df)], dim=1)
        for _ in range(1000):
            optimizer.zero_grad()
            loss_fn(self.model(X)[:, 0], y).backward()
            optimizer.step()

    @staticmethod
    def dummies(frame):
        origin = pd.Categorical(frame["origin"], categories=["Europe", "Japan", "USA"])
        table = make_dummies(pd.DataFrame({"origin": origin}), ["origin"])
        return torch.from_numpy(table.to_numpy(dtype=np.float32))

    def __call__(self, frame):
        X = (torch.tensor(frame[self.COLUMNS].to_numpy(), dtype=torch.float32) - self.x_mean) / self.x_std
        with torch.no_grad():
            y = self.model(torch.cat([X, self.dummies(frame)], dim=1))[:, 0]
        return y * self.y_std + self.y_mean


def train_price_model(df):
    return PricePredictor(df)
