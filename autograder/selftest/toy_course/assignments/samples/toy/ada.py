# Ada: both functions right, each written her own way. Expected: 4 / 4.

# %% [double]
def double(x):
    return x + x

# %% [square]
def square(x):
    return x ** 2
