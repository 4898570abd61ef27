# Eve: forgets optimizer.zero_grad(), so every step uses the sum of all gradients so far (backward adds to
# .grad). Her first step is right; from the second on, the full-batch Adam steps and their losses drift from
# the reference's and the network does not learn the secret XOR. She did not get to the loan exercise
# (loan_features left as the stub, so the loan test fails too).

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
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(X))
        batch_losses = []
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            loss = loss_fn(model(X[rows]).squeeze(1), y[rows])
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses
