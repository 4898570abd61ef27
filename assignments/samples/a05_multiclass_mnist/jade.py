# Jade: right, but far too slow: after every step she measures the loss on the whole training set, one
# digit at a time, to print her progress. On the public checks' few digits that is quick; on thousands of
# digits every call runs into the time limit (the notebook's training cells are stopped after cell_timeout_s,
# and the threshold test's training call does not return within call_timeout_s): 22 / 25.

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
        batches = list(loader)  # this epoch's batches, in the loader's order
        losses = []
        for images, labels in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            progress, correct = 0.0, 0
            for all_images, all_labels in batches:
                for i in range(len(all_labels)):
                    progress += cross_entropy(model(all_images[i:i + 1]), all_labels[i:i + 1]).item()
                    correct += int(softmax(model(all_images[i:i + 1]), dim=1).argmax() == all_labels[i])
        history.append(sum(losses) / len(losses))
    return history
