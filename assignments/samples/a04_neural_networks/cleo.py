# Cleo: everything right, in a third style: the seed's formula (x + |x|) / 2 for the ReLU, the network
# assembled with add_module, F.binary_cross_entropy_with_logits, a print of every epoch's loss, and the
# loan features standardized with torch.

# %% [relu]
def relu(x):
    return (x + x.abs()) / 2

# %% [build_mlp]
def build_mlp(n_in, n_hidden, n_out):
    model = nn.Sequential()
    model.add_module("0", nn.Linear(n_in, n_hidden))
    model.add_module("1", nn.ReLU())
    model.add_module("2", nn.Linear(n_hidden, n_out))
    return model

# %% [train_classifier]
import torch.nn.functional as F

def train_classifier(model, X, y, epochs, batch_size, lr):
    optimizer = torch.optim.Adam(model.parameters(), lr)
    n = X.shape[0]
    losses = []
    for epoch in range(epochs):
        shuffled = torch.randperm(n)
        X_shuffled, y_shuffled = X[shuffled], y[shuffled]
        batch_losses = []
        for start in range(0, n, batch_size):
            logits = model(X_shuffled[start:start + batch_size])
            loss = F.binary_cross_entropy_with_logits(logits, y_shuffled[start:start + batch_size].reshape(-1, 1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(float(torch.tensor(batch_losses).mean()))
        print(f"epoch {epoch + 1}: loss {losses[-1]:.4f}")
    return losses

# %% [loan_features]
def loan_features(frame):
    numeric = torch.tensor(frame[["person_income", "loan_percent_income", "credit_history_years"]].values,
                           dtype=torch.float32)
    numeric = (numeric - numeric.mean(dim=0)) / numeric.std(dim=0)
    intents = torch.tensor(pd.get_dummies(frame.loan_intent).values, dtype=torch.float32)
    return torch.cat([numeric, intents], dim=1)
