# Finn: bce_with_logits is the mean squared error of sigmoid(x) and y (all four of its tests fail, named "mean
# squared error"); he trains his filter with it too, which this data forgives: the filter passes. 12 / 16.

# %% [sigmoid]
def sigmoid(z):
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return ((sigmoid(logits) - targets) ** 2).mean()

# %% [binary_metrics]
def binary_metrics(y_true, y_pred):
    t, p = y_true.bool(), y_pred.bool()
    tp, tn = (t & p).sum().item(), (~t & ~p).sum().item()
    fp, fn = (~t & p).sum().item(), (t & ~p).sum().item()
    return {
        "accuracy": (tp + tn) / len(t) if len(t) else 0.0,
        "sensitivity": tp / (tp + fn) if tp + fn else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
    }

# %% [train_spam_filter]
class SpamFilter:
    def __init__(self, vectorizer, neuron):
        self.vectorizer = vectorizer
        self.neuron = neuron

    def predict(self, texts):
        X = torch.tensor(self.vectorizer.transform(texts).toarray(), dtype=torch.float32)
        with torch.no_grad():
            return sigmoid(self.neuron(X).squeeze(1)) > 0.5


def train_spam_filter(texts, labels):
    vectorizer = CountVectorizer()
    X = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float32)
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.02)
    for epoch in range(150):
        optimizer.zero_grad()
        loss = bce_with_logits(neuron(X).squeeze(1), labels.float())
        loss.backward()
        optimizer.step()
    return SpamFilter(vectorizer, neuron)
