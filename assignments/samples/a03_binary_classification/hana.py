# Hana: her precision is the sensitivity again, TP / (TP + FN) (three metrics tests fail, named "precision is
# the sensitivity"; no messages at all still passes), and predict thresholds the probabilities at 0 instead of
# 0.5, so every message is predicted spam (the filter test fails and says so). 9 / 16.

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
        "precision": tp / (tp + fn) if tp + fn else 0.0,
    }

# %% [train_spam_filter]
class SpamFilter:
    def __init__(self, vectorizer, neuron):
        self.vectorizer = vectorizer
        self.neuron = neuron

    def predict(self, texts):
        X = torch.tensor(self.vectorizer.transform(texts).toarray(), dtype=torch.float32)
        with torch.no_grad():
            return sigmoid(self.neuron(X).squeeze(1)) > 0


def train_spam_filter(texts, labels):
    vectorizer = CountVectorizer()
    X = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float32)
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.02)
    for epoch in range(100):
        optimizer.zero_grad()
        loss = nn.BCEWithLogitsLoss()(neuron(X).squeeze(1), labels.float())
        loss.backward()
        optimizer.step()
    return SpamFilter(vectorizer, neuron)
