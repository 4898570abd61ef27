# Ana: everything right, close to the notebook's own style: the max trick with torch.where, the loss written
# with the logits, the metrics from the four counts, and counts + one neuron trained full batch with Adam.

# %% [sigmoid]
def sigmoid(z):
    e = torch.exp(-torch.abs(z))
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return (logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))).mean()

# %% [binary_metrics]
def binary_metrics(y_true, y_pred):
    t, p = y_true.bool(), y_pred.bool()
    tp, tn = (t & p).sum().item(), (~t & ~p).sum().item()
    fp, fn = (~t & p).sum().item(), (t & ~p).sum().item()
    n = tp + tn + fp + fn
    return {
        "accuracy": (tp + tn) / n if n else 0.0,
        "sensitivity": tp / (tp + fn) if tp + fn else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
    }

# %% [train_spam_filter]
class SpamFilter:
    def __init__(self, vectorizer, neuron, losses):
        self.vectorizer = vectorizer
        self.neuron = neuron
        self.losses = losses

    def predict(self, texts):
        X = torch.tensor(self.vectorizer.transform(texts).toarray(), dtype=torch.float32)
        with torch.no_grad():
            return self.neuron(X).squeeze(1) > 0


def train_spam_filter(texts, labels):
    vectorizer = CountVectorizer()
    X = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float32)
    y = labels.float()
    neuron = nn.Linear(X.shape[1], 1)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.02)
    losses = []
    for epoch in range(120):
        optimizer.zero_grad()
        loss = loss_fn(neuron(X).squeeze(1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return SpamFilter(vectorizer, neuron, losses)
