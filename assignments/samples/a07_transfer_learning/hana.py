# Hana: she froze the backbone but kept its old 1000-class head (the replace_head tests fail), and her loop
# never calls optimizer.zero_grad(), so gradients pile up from batch to batch (the loss curve and the head's
# weights differ from the course's).

# %% [replace_head]
def replace_head(model, num_classes, freeze_backbone=True):
    if freeze_backbone:
        for parameter in model.parameters():
            parameter.requires_grad = False
        model.fc.weight.requires_grad = True
        model.fc.bias.requires_grad = True
    return model

# %% [count_trainable]
def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

# %% [train_transforms]
def train_transforms(size=224):
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.8, 1.0)),
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=10, translate=(0.08, 0.08)),
        v2.ColorJitter(brightness=0.3, contrast=0.3),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])

# %% [eval_transforms]
def eval_transforms(size=224):
    return v2.Compose([
        v2.Resize((size, size)),
        v2.ToDtype(torch.float32, scale=True),
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
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses
