# Ben: everything right with torchvision's first transforms API (transforms.Compose, ConvertImageDtype instead
# of the v2 ToDtype), freezing with a loop over named_parameters, the optimizer given every parameter (the
# frozen ones get no gradient, so Adam leaves them alone) and nn.functional's cross-entropy: full marks.

# %% [replace_head]
from torchvision import transforms as T


def replace_head(model, num_classes, freeze_backbone=True):
    for name, parameter in model.named_parameters():
        parameter.requires_grad = not freeze_backbone
    in_features = model.fc.in_features
    model.fc = nn.Linear(in_features, num_classes)
    return model

# %% [count_trainable]
def count_trainable(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters() if p.requires_grad)

# %% [train_transforms]
def train_transforms(size=224):
    return T.Compose([
        T.Resize((size, size), antialias=True),
        T.RandomHorizontalFlip(),
        T.RandomAffine(degrees=10, translate=(0.1, 0.1)),
        T.ColorJitter(brightness=0.2, contrast=0.2),
        T.ConvertImageDtype(torch.float32),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])

# %% [eval_transforms]
def eval_transforms(size=224):
    return T.Compose([
        T.Resize((size, size), antialias=True),
        T.ConvertImageDtype(torch.float32),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])

# %% [fine_tune]
def fine_tune(model, train_loader, epochs, lr, device):
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        model.train()
        epoch_losses = []
        for images, labels in train_loader:
            images = images.to(device)
            labels = labels.to(device)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            epoch_losses.append(loss.item())
        losses.append(float(np.mean(epoch_losses)))
    return losses
