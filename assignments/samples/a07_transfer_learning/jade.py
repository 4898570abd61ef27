# Jade: she freezes after putting the new head on, so the head is frozen too (the frozen replace_head tests
# fail), and her transforms normalise 0-255 values: ToDtype without scale=True (the normalisation tests fail).

# %% [replace_head]
def replace_head(model, num_classes, freeze_backbone=True):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    if freeze_backbone:
        for parameter in model.parameters():
            parameter.requires_grad = False
    return model

# %% [count_trainable]
def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

# %% [train_transforms]
def train_transforms(size=224):
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.8, 1.0)),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])

# %% [eval_transforms]
def eval_transforms(size=224):
    return v2.Compose([
        v2.Resize((size, size)),
        v2.ToDtype(torch.float32),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])

# %% [fine_tune]
def fine_tune(model, train_loader, epochs, lr, device):
    model.to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(epochs):
        model.train()
        batch_losses = []
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses
