# Nora: her sigmoid turns its input into float32 first (z.float()), so float64 comes back as float32: the
# float64 test and the huge-inputs test (float32, then float64) fail, named "float32"; and her loss forgets the
# minus sign in front of y log s(x) + (1 - y) log(1 - s(x)) (all four loss tests fail, named "minus sign").
# She trains her filter with nn.BCEWithLogitsLoss, which is right: 10 / 16.

# %% [sigmoid]
def sigmoid(z):
    z = z.float()
    e = torch.exp(-torch.abs(z))
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return (targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).mean()

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
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.02)
    for epoch in range(100):
        optimizer.zero_grad()
        loss = nn.BCEWithLogitsLoss()(neuron(X).squeeze(1), labels.float())
        loss.backward()
        optimizer.step()
    return SpamFilter(vectorizer, neuron)
