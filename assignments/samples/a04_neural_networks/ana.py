# Ana: everything right, close to the notebook's own style: relu as x * (x > 0), batches cut from
# torch.randperm by hand, the loss of each batch averaged over the epoch, loan features with pandas.

# %% [relu]
def relu(x):
    return x * (x > 0)

# %% [build_mlp]
def build_mlp(n_in, n_hidden, n_out):
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))

# %% [train_classifier]
def train_classifier(model, X, y, epochs, batch_size, lr):
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(X))
        batch_losses = []
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]).squeeze(1), y[idx])
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses

# %% [loan_features]
def loan_features(frame):
    df = pd.get_dummies(frame, columns=["loan_intent"]).astype("float32")
    numeric = ["person_income", "loan_percent_income", "credit_history_years"]
    df[numeric] = (df[numeric] - df[numeric].mean()) / df[numeric].std()
    columns = numeric + ["loan_intent_education", "loan_intent_medical", "loan_intent_personal", "loan_intent_venture"]
    return torch.tensor(df[columns].to_numpy(), dtype=torch.float32)
