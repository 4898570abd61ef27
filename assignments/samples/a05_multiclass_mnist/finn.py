# Finn: three catalogued slips. one_hot returns F.one_hot's int64 rows (all 3 one_hot tests fail, each
# naming the missing .float()); softmax ignores its dim argument and always normalizes over the last
# dimension (test_any_dim fails, named); cross_entropy sums over the batch instead of averaging (named;
# only the batch of one passes, where a sum is a mean). Network and training right: 17 / 25.

# %% [one_hot]
def one_hot(labels, num_classes):
    return F.one_hot(labels, num_classes)

# %% [softmax]
def softmax(logits, dim=-1):
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(dim=-1, keepdim=True)

# %% [cross_entropy]
def cross_entropy(logits, labels):
    correct = logits[torch.arange(len(labels)), labels]
    return (torch.logsumexp(logits, dim=1) - correct).sum()

# %% [build_digit_classifier]
def build_digit_classifier():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))

# %% [train_digit_classifier]
def train_digit_classifier(model, loader, epochs):
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    history = []
    for epoch in range(epochs):
        losses = []
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
