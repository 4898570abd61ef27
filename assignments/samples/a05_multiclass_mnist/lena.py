# Lena: did one_hot and softmax; cross_entropy, the network and its training are still the stubs: 9 / 25.

# %% [one_hot]
def one_hot(labels, num_classes):
    return torch.eye(num_classes)[labels]

# %% [softmax]
def softmax(logits, dim=-1):
    shifted = logits - logits.max(dim=dim, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(dim=dim, keepdim=True)
