# Ivan: conv2d ignores the stride (right where it is 1: 3 x 3, padding, no bias, many channels: 4 / 8);
# dropout takes p as the probability to keep (drops 1 - p, divides by p; p = 0 gives nan: the identity,
# fresh-mask and gradient tests pass, 3 / 6); batch_norm uses the unbiased variance (0 / 5); build_cnn and
# train_cnn are the stubs (0 / 2, 0 / 4, 0 / 3). Sobel filter and max pooling right: 4 + 1 + 6 + 3 = 14 / 35.

# %% [conv2d]
def conv2d(x, weight, bias=None, stride=1, padding=0):
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    out_h, out_w = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    columns = F.unfold(x, (kh, kw), padding=padding)
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
    keep = torch.rand_like(x) < p
    return x * keep / p

# %% [batch_norm]
def batch_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), keepdim=True)
    return gamma[None, :, None, None] * (x - mean) / torch.sqrt(var + eps) + beta[None, :, None, None]
