# Gus: everything right except one classic training slip: a softmax before nn.CrossEntropyLoss (softmax
# twice). His losses and weights leave the reference's (test_adam_steps_over_the_loaders_batches and
# test_loss_curve fail), but the network still learns the digits well enough for the threshold: 22 / 25.

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
            optimizer.zero_grad()
            probabilities = torch.softmax(model(images), dim=1)
            loss = loss_fn(probabilities, labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
