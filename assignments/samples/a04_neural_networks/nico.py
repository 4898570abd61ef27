# Nico: walks through the batches with a while loop that only advances by whole batches, so when the rows do
# not divide into batches (500 rows in batches of 32) it never ends. Every call on such data runs into the
# time limit (and the notebook cells that train on the circle and the loans are stopped); on data that divides
# evenly his training is right.

# %% [relu]
def relu(x):
    return torch.clamp(x, min=0)

# %% [build_mlp]
def build_mlp(n_in, n_hidden, n_out):
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))

# %% [train_classifier]
def train_classifier(model, X, y, epochs, batch_size, lr):
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(X)
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(n)
        start, batch_losses = 0, []
        while start < n:
            rows = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[rows]).squeeze(1), y[rows])
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
            if start + batch_size <= n:
                start += batch_size
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses

# %% [loan_features]
def loan_features(frame):
    numeric = frame[["person_income", "loan_percent_income", "credit_history_years"]]
    numeric = (numeric - numeric.mean()) / numeric.std()
    dummies = pd.get_dummies(frame["loan_intent"])
    return torch.tensor(pd.concat([numeric, dummies], axis=1).to_numpy(dtype="float32"))

