# Ben: his double returns float32 whatever it gets, so the float64 test fails on the dtype; he left
# square as the stub. Expected: 2 / 4 (test_double 2 of 3, test_square 0).

# %% [double]
def double(x):
    return (x + x).float()
