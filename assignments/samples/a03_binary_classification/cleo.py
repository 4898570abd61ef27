# Cleo: everything right in a third style: the sigmoid with clamped exponents, the loss through torch.logaddexp
# (log(1 + e^x) - x y), the metrics from a confusion matrix, and the top 1,000 words counted as present or
# absent (binary=True), mini-batches of 32 cut from torch.randperm by hand, 5 epochs of Adam.

# %% [sigmoid]
def sigmoid(z):
    pos = 1 / (1 + torch.exp(-z.clamp(min=0)))
    neg_exp = torch.exp(z.clamp(max=0))
    return torch.where(z >= 0, pos, neg_exp / (1 + neg_exp))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return (torch.logaddexp(torch.zeros_like(logits), logits) - logits * targets).mean()

# %% [binary_metrics]
def binary_metrics(y_true, y_pred):
    truth = (torch.as_tensor(y_true) != 0).long()
    guess = (torch.as_tensor(y_pred) != 0).long()
    confusion = torch.zeros(2, 2, dtype=torch.long)
    for t, g in zip(truth.tolist(), guess.tolist()):
        confusion[t, g] += 1
    tn, fp, fn, tp = confusion.flatten().tolist()
    out = {}
    for name, top, bottom in (("accuracy", tp + tn, tp + tn + fp + fn), ("sensitivity", tp, tp + fn),
                              ("specificity", tn, tn + fp), ("precision", tp, tp + fp)):
        out[name] = top / bottom if bottom > 0 else 0.0
    return out

# %% [train_spam_filter]
class SpamFilter:
    def __init__(self, vectorizer, neuron):
        self.vectorizer, self.neuron = vectorizer, neuron

    def predict(self, texts):
        X = torch.from_numpy(self.vectorizer.transform(texts).toarray()).float()
        with torch.no_grad():
            return self.neuron(X)[:, 0] > 0


def train_spam_filter(texts, labels):
    vectorizer = CountVectorizer(max_features=1000, binary=True)
    X = torch.from_numpy(vectorizer.fit_transform(texts).toarray()).float()
    y = labels.float()
    neuron = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.Adam(neuron.parameters(), lr=0.01)
    for epoch in range(5):
        order = torch.randperm(len(y))
        for start in range(0, len(y), 32):
            rows = order[start:start + 32]
            optimizer.zero_grad()
            loss = bce_with_logits(neuron(X[rows])[:, 0], y[rows])
            loss.backward()
            optimizer.step()
    return SpamFilter(vectorizer, neuron)
