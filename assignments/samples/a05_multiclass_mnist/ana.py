# Ana: everything right, close to the notebook's own style: F.one_hot then .float(), the shifted softmax,
# the cross entropy with torch.logsumexp, nn.Sequential, and the training loop of the notebook.

# %% [one_hot]
def one_hot(labels, num_classes):
    return F.one_hot(labels, num_classes).float()

# %% [softmax]
def softmax(logits, dim=-1):
    z = logits - logits.max(dim=dim, keepdim=True).values
    return z.exp() / z.exp().sum(dim=dim, keepdim=True)

# %% [cross_entropy]
def cross_entropy(logits, labels):
    picked = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(logits, dim=1) - picked).mean()

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
