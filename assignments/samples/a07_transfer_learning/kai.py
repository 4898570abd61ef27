# Kai: did sections 3 and 4 (replace_head, count_trainable), then stopped: the transforms and fine_tune are
# still the stubs.

# %% [replace_head]
def replace_head(model, num_classes, freeze_backbone=True):
    if freeze_backbone:
        for parameter in model.parameters():
            parameter.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model

# %% [count_trainable]
def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
