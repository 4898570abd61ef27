# Jade: everything right, but she trains her filter one message at a time (a step per message, 200 epochs):
# hundreds of thousands of steps. The notebook's training cell is stopped at its time limit and the grader's
# call runs into the per-call budget, so the filter test fails ("did not return within"); her functions that
# need no training are right. 12 / 16.

# %% [sigmoid]
def sigmoid(z):
    e = torch.exp(-torch.abs(z))
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return (torch.clamp(logits, min=0) - logits * targets + torch.log1p(torch.exp(-torch.abs(logits)))).mean()

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
            return self.neuron(X).squeeze(1) > 0


def train_spam_filter(texts, labels):
    vectorizer = CountVectorizer()
    X = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float32)
    y = labels.float()
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.SGD(neuron.parameters(), lr=0.01)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(200):
        for i in range(len(y)):
            optimizer.zero_grad()
            loss = loss_fn(neuron(X[i:i + 1]).squeeze(1), y[i:i + 1])
            loss.backward()
            optimizer.step()
    return SpamFilter(vectorizer, neuron)
