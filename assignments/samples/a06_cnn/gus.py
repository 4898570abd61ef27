# Gus: conv2d computes the textbook convolution (kernel flipped: 0 / 8), and so his Sobel filter is
# mirrored to make the lecture's 30s come out (-1, 0, 1 columns: 0 / 1); max_pool2d slides by 1 when no
# stride is given (right only in the overlapping-windows test, stride given: 1 / 6). Dropout and batch
# normalization right; he never got to the network (build_cnn and train_cnn are the stubs: 0 / 2, 0 / 4,
# 0 / 3): 1 + 6 + 5 = 12 / 35.

# %% [conv2d]
def conv2d(x, weight, bias=None, stride=1, padding=0):
    flipped = torch.flip(weight, dims=(2, 3))
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    columns = F.unfold(x, (kh, kw), padding=padding, stride=stride)
    out = (flipped.reshape(c_out, -1) @ columns).reshape(n, c_out, out_h, out_w)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)

# %% [sobel_x]
def sobel_x():
    return torch.tensor([[-1.0, 0.0, 1.0]] * 3)

# %% [max_pool2d]
def max_pool2d(x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (1, 1) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    windows = F.unfold(x.reshape(n * c, 1, h, w), (kh, kw), stride=(sh, sw))
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
