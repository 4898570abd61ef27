# Ivy: everything right except that her loop never clears the gradients (no optimizer.zero_grad()): each
# step uses the sum of all gradients so far. The Adam iterate and the loss curve leave the reference's, and
# on the hidden digits her network falls far behind (about 0.56 to 0.78 against 0.89): 19 / 25.

# %% [one_hot]
def one_hot(labels, num_classes):
    return F.one_hot(labels, num_classes).float()

# %% [softmax]
def softmax(logits, dim=-1):
    z = logits - logits.max(dim=dim, keepdim=True).values
    return z.exp() / z.exp().sum(dim=dim, keepdim=True)

# %% [cross_entropy]
def cross_entropy(logits, labels):
    return (torch.logsumexp(logits, dim=1) - logits[torch.arange(len(labels)), labels]).mean()

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
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
