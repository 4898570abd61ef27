# Cleo: everything right, in a third style: one_hot by comparing with arange, softmax with torch.amax,
# the loss as a log-sum-exp written out with the row maximum, her own nn.Module class
# (x.view(-1, 784) in forward), and F.log_softmax + F.nll_loss in the training loop (allowed there).

# %% [one_hot]
def one_hot(labels, num_classes):
    return (labels[..., None] == torch.arange(num_classes)).float()

# %% [softmax]
def softmax(logits, dim=-1):
    m = torch.amax(logits, dim=dim, keepdim=True)
    e = torch.exp(logits - m)
    return e / torch.sum(e, dim=dim, keepdim=True)

# %% [cross_entropy]
def cross_entropy(logits, labels):
    m = logits.max(dim=1).values
    lse = m + torch.log(torch.exp(logits - m[:, None]).sum(dim=1))
    return torch.mean(lse - logits[torch.arange(logits.shape[0]), labels])

# %% [build_digit_classifier]
class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.view(-1, 784))))

def build_digit_classifier():
    return DigitNet()

# %% [train_digit_classifier]
def train_digit_classifier(model, loader, epochs):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    out = []
    for epoch in range(epochs):
        batch_losses = []
        for images, labels in loader:
            opt.zero_grad()
            loss = F.nll_loss(F.log_softmax(model(images), dim=1), labels)
            loss.backward()
            opt.step()
            batch_losses.append(float(loss.detach()))
        out.append(sum(batch_losses) / len(batch_losses))
    return out
