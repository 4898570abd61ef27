# Ben: everything right in another style: the sigmoid through tanh (0.5 * (1 + tanh(z / 2)), stable), the loss
# with F.logsigmoid, the metrics as float sums, and TF-IDF with shuffled mini-batches of 64 (Adam, 8 epochs).

# %% [sigmoid]
def sigmoid(z):
    return 0.5 * (1 + torch.tanh(z / 2))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return -(targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).mean()

# %% [binary_metrics]
def binary_metrics(y_true, y_pred):
    y = torch.as_tensor(y_true).double().reshape(-1)
    p = torch.as_tensor(y_pred).double().reshape(-1)
    tp = float((y * p).sum())
    tn = float(((1 - y) * (1 - p)).sum())
    fp = float(((1 - y) * p).sum())
    fn = float((y * (1 - p)).sum())

    def safe(a, b):
        return a / b if b != 0 else 0.0

    return {"accuracy": safe(tp + tn, len(y)), "sensitivity": safe(tp, tp + fn),
            "specificity": safe(tn, tn + fp), "precision": safe(tp, tp + fp)}

# %% [train_spam_filter]
class SpamFilter:
    def __init__(self, vectorizer, model):
        self.vectorizer = vectorizer
        self.model = model

    def predict(self, texts):
        features = torch.tensor(self.vectorizer.transform(texts).toarray(), dtype=torch.float32)
        with torch.no_grad():
            return sigmoid(self.model(features)).reshape(-1) > 0.5


def train_spam_filter(texts, labels):
    vectorizer = TfidfVectorizer()
    X = torch.tensor(vectorizer.fit_transform(texts).toarray(), dtype=torch.float32)
    y = labels.float().reshape(-1, 1)
    model = nn.Linear(X.shape[1], 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=64, shuffle=True)
    for epoch in range(8):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(model(xb), yb)
            loss.backward()
            optimizer.step()
    return SpamFilter(vectorizer, model)
