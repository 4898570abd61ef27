# Cleo: right everywhere, with as_strided views and einsum (no copy of the patches), batch_norm with
# torch.var_mean, a model class of her own with the same layers in the same order: 35 / 35.

# %% [conv2d]
def conv2d(x, weight, bias=None, stride=1, padding=0):
    x = F.pad(x, (padding, padding, padding, padding)).contiguous()
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    sn, sc, sh, sw = x.stride()
    patches = x.as_strided((n, c, out_h, out_w, kh, kw), (sn, sc, sh * stride, sw * stride, sh, sw))
    out = torch.einsum("nchwij,ocij->nohw", patches, weight)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out

# %% [sobel_x]
def sobel_x():
    column = torch.tensor([1.0, 1.0, 1.0])
    return torch.outer(column, torch.tensor([1.0, 0.0, -1.0]))

# %% [max_pool2d]
def max_pool2d(x, kernel_size, stride=None):
    kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    stride = (kh, kw) if stride is None else stride
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    x = x.contiguous()
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    a, b, d, e = x.stride()
    windows = x.as_strided((n, c, out_h, out_w, kh, kw), (a, b, d * sh, e * sw, d, e))
    return windows.amax(dim=(-2, -1))

# %% [dropout]
def dropout(x, p, training):
    if not training or p == 0:
        return x
    mask = torch.empty_like(x).uniform_() >= p
    return x * mask / (1.0 - p)

# %% [batch_norm]
def batch_norm(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=[0, 2, 3], keepdim=True, correction=0)
    normalized = (x - mean) * torch.rsqrt(var + eps)
    return normalized * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)

# %% [build_cnn]
class ClothingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.drop, self.fc = nn.Dropout(0.25), nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(self.drop(x.flatten(1)))


def build_cnn():
    return ClothingNet()

# %% [train_cnn]
def train_cnn(model, loader, epochs, device):
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    criterion = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        model.train()
        batch_losses = []
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        history.append(float(np.mean(batch_losses)))
    model.eval()
    return history
