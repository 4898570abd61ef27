# Finn: conv2d forgets the padding (right only where padding is 0: the 3 x 3 and the stride tests, 2 / 8;
# the gradient test fails on the output's shape); build_cnn puts the ReLU before the batch norm, so its
# parameters have the right shapes but it computes something else (1 / 2) and the clothing test's twin
# check fails (0 / 3). Everything else right: 35 - 6 - 1 - 3 = 25 / 35.

# %% [conv2d]
def conv2d(x, weight, bias=None, stride=1, padding=0):
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    columns = F.unfold(x, (kh, kw), stride=stride)
    out = (weight.reshape(c_out, -1) @ columns).reshape(n, c_out, out_h, out_w)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)

# %% [sobel_x]
def sobel_x():
    return torch.tensor([1.0, 0.0, -1.0]).expand(3, 3).clone()

# %% [max_pool2d]
def max_pool2d(x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    windows = F.unfold(x.reshape(n * c, 1, h, w), (kh, kw), stride=(sh, sw))  # (N*C, kh*kw, L)
    return windows.max(dim=1).values.reshape(n, c, out_h, out_w)

# %% [dropout]
def dropout(x, p, training):
    if not training:
        return x
    keep = torch.bernoulli(torch.full_like(x, 1 - p))
    return x * keep / (1 - p)

# %% [batch_norm]
def batch_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    return gamma[None, :, None, None] * (x - mean) / torch.sqrt(var + eps) + beta[None, :, None, None]

# %% [build_cnn]
def build_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(784, 10),
    )

# %% [train_cnn]
def train_cnn(model, loader, epochs, device):
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images.to(device)), labels.to(device))
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total / len(loader))
    model.eval()
    return losses
