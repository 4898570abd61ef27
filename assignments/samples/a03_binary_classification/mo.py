# Mo: the sigmoid as 1 / (1 + exp(-z)) for every z. Its values are right even at |z| = 1e4 (1 / inf is 0), but
# its gradient at z = -1e4 is inf / inf = nan: test_gradient fails (no catalogued mistake gives a nan gradient
# the same way; the message shows the non-finite values and the hint says why). The rest is right: 15 / 16.

# %% [sigmoid]
def sigmoid(z):
    return 1 / (1 + torch.exp(-z))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    per_message = torch.clamp(logits, min=0) - logits * targets + torch.log1p(torch.exp(-torch.abs(logits)))
    return per_message.sum() / per_message.numel()

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
    vectorizer = TfidfVectorizer()
    X = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float32)
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.05)
    for epoch in range(100):
        optimizer.zero_grad()
        loss = bce_with_logits(neuron(X).squeeze(1), labels.float())
        loss.backward()
        optimizer.step()
    return SpamFilter(vectorizer, neuron)
