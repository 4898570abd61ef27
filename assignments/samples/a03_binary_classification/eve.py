# Eve: the sigmoid as exp(z) / (1 + exp(z)), without the max trick: right for ordinary scores, nan where exp(z)
# overflows (test_huge_inputs, named "exp(z) / (1 + exp(z))"), and a nan gradient there (test_gradient). The rest
# is right: 14 / 16.

# %% [sigmoid]
def sigmoid(z):
    return torch.exp(z) / (1 + torch.exp(z))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return (torch.clamp(logits, min=0) - logits * targets + torch.log1p(torch.exp(-torch.abs(logits)))).mean()

# %% [binary_metrics]
def binary_metrics(y_true, y_pred):
    t, p = y_true.bool(), y_pred.bool()
    tp, tn = int((t & p).sum()), int((~t & ~p).sum())
    fp, fn = int((~t & p).sum()), int((t & ~p).sum())
    ratio = lambda a, b: a / b if b else 0.0
    return {"accuracy": ratio(tp + tn, len(t)), "sensitivity": ratio(tp, tp + fn),
            "specificity": ratio(tn, tn + fp), "precision": ratio(tp, tp + fp)}

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
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.05)
    for epoch in range(60):
        optimizer.zero_grad()
        loss = nn.BCEWithLogitsLoss()(neuron(X).squeeze(1), labels.float())
        loss.backward()
        optimizer.step()
    return SpamFilter(vectorizer, neuron)
