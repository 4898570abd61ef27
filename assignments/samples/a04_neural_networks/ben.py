# Ben: everything right, in other styles: torch.maximum for the ReLU, the network built from an
# OrderedDict of named layers, a DataLoader with shuffle=True, sigmoid + nn.BCELoss (the same loss in two
# steps), each epoch's loss weighted by batch size, and loan features in numpy with the population
# standard deviation (ddof 0).

# %% [relu]
def relu(x):
    return torch.maximum(x, torch.zeros_like(x))

# %% [build_mlp]
from collections import OrderedDict

def build_mlp(n_in, n_hidden, n_out):
    return nn.Sequential(OrderedDict([
        ("hidden", nn.Linear(n_in, n_hidden)),
        ("activation", nn.ReLU()),
        ("output", nn.Linear(n_hidden, n_out)),
    ]))

# %% [train_classifier]
from torch.utils.data import DataLoader, TensorDataset

def train_classifier(model, X, y, epochs, batch_size, lr):
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.BCELoss()
    history = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            probabilities = torch.sigmoid(model(xb)).reshape(-1)
            loss = criterion(probabilities, yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        history.append(total / len(X))
    return history

# %% [loan_features]
import numpy as np

def loan_features(frame):
    numbers = frame[["person_income", "loan_percent_income", "credit_history_years"]].to_numpy(dtype=np.float64)
    numbers = (numbers - numbers.mean(axis=0)) / numbers.std(axis=0)
    dummies = pd.get_dummies(frame["loan_intent"]).to_numpy(dtype=np.float64)
    return torch.from_numpy(np.hstack([numbers, dummies]).astype(np.float32))
