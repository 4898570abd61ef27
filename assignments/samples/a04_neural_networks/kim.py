# Kim: trains a copy of the model (copy.deepcopy, "so the caller's model stays clean"): the model she is
# given never changes, so the tests that look at it afterwards fail, the threshold tests included. The losses
# she returns are those of her copy, and they are right.

# %% [relu]
def relu(x):
    return torch.clamp(x, min=0)

# %% [build_mlp]
def build_mlp(n_in, n_hidden, n_out):
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))

# %% [train_classifier]
import copy

def train_classifier(model, X, y, epochs, batch_size, lr):
    model = copy.deepcopy(model)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(X))
        batch_losses = []
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[rows]).squeeze(1), y[rows])
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses

# %% [loan_features]
def loan_features(frame):
    numeric = frame[["person_income", "loan_percent_income", "credit_history_years"]]
    numeric = (numeric - numeric.mean()) / numeric.std()
    dummies = pd.get_dummies(frame["loan_intent"])
    return torch.tensor(pd.concat([numeric, dummies], axis=1).to_numpy(dtype="float32"))

