# Hana: two catalogued slips in the formulas. softmax divides by the sum over the whole tensor instead of
# along dim (every softmax test fails; the value tests name it); the loss is -(one_hot * log p).mean(),
# which also divides by the number of classes (every cross_entropy test fails; the value and gradient
# tests name it). one_hot, the network and the training are right: 14 / 25.

# %% [one_hot]
def one_hot(labels, num_classes):
    return F.one_hot(labels, num_classes).float()

# %% [softmax]
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.max())
    return e / e.sum()

# %% [cross_entropy]
def cross_entropy(logits, labels):
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -(one_hot(labels, logits.shape[1]).to(logits.dtype) * log_p).mean()

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
