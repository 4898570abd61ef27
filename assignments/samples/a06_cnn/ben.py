# Ben: right everywhere, written as plain loops over the output positions (slow but clear), max pooling
# the same way, batch normalization from sums: 35 / 35.

# %% [conv2d]
def conv2d(x, weight, bias=None, stride=1, padding=0):
    kh, kw = weight.shape[-2:]
    padded = F.pad(x, [padding] * 4)
    out_h = (padded.shape[2] - kh) // stride + 1
    out_w = (padded.shape[3] - kw) // stride + 1
    rows = []
    for i in range(out_h):
        row = []
        for j in range(out_w):
            patch = padded[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (N, C, kh, kw)
            value = (patch[:, None] * weight[None]).sum(dim=(2, 3, 4))                  # (N, C_out)
            row.append(value if bias is None else value + bias)
        rows.append(torch.stack(row, dim=-1))
    return torch.stack(rows, dim=-2)

# %% [sobel_x]
def sobel_x():
    return torch.tensor([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=torch.float32)

# %% [max_pool2d]
def max_pool2d(x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if stride is None:
        sh, sw = kh, kw
    elif isinstance(stride, int):
        sh, sw = stride, stride
    else:
        sh, sw = stride
    rows = []
    for i in range((x.shape[2] - kh) // sh + 1):
        row = []
        for j in range((x.shape[3] - kw) // sw + 1):
            row.append(x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].amax(dim=(2, 3)))
        rows.append(torch.stack(row, dim=-1))
    return torch.stack(rows, dim=-2)

# %% [dropout]
def dropout(x, p, training):
    if training:
        keep = torch.rand(x.shape) > p
        return torch.where(keep, x / (1 - p), torch.zeros_like(x))
    return x

# %% [batch_norm]
def batch_norm(x, gamma, beta, eps=1e-5):
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mean = x.sum(dim=(0, 2, 3), keepdim=True) / n
    var = ((x - mean) ** 2).sum(dim=(0, 2, 3), keepdim=True) / n
    shape = (1, x.shape[1], 1, 1)
    return (x - mean) / (var + eps).sqrt() * gamma.view(shape) + beta.view(shape)

# %% [build_cnn]
def build_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
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
