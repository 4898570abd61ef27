# Lena: did the first half (sigmoid and the loss, both right) and left binary_metrics and the filter as the
# stubs: 8 / 16.

# %% [sigmoid]
def sigmoid(z):
    e = torch.exp(-torch.abs(z))
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% [bce_with_logits]
def bce_with_logits(logits, targets):
    return (torch.clamp(logits, min=0) - logits * targets + torch.log1p(torch.exp(-torch.abs(logits)))).mean()
