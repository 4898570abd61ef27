"""Reference solutions of a02_tabular_regression (hidden: the grader loads it, students never see it).

Written independently of the source notebook's solution cells: ``zscore`` with ``torch.var_mean`` and
``torch.where``, ``make_dummies`` by hand (sorted levels, one comparison per level, a frame assembled
column by column) rather than by ``pd.get_dummies``, and the price model fitted by full-batch gradient
descent written out (the gradient of the mean squared error by formula, no autograd).

Besides the notebook's functions it holds what the suite needs: the fuel-cost target (the notebook's
story: a car driven ``MILES_PER_YEAR`` miles a year at ``DOLLARS_PER_GALLON`` dollars a gallon costs
``MILES_PER_YEAR / mpg * DOLLARS_PER_GALLON`` dollars of fuel a year), the data files' paths and
checksums, and ``r_squared``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

MILES_PER_YEAR = 12_000.0
DOLLARS_PER_GALLON = 3.50
TARGET = "fuel_cost"
NUMERIC = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]
ORIGINS = ["Europe", "Japan", "USA"]

ROOT = Path(__file__).resolve().parents[1]
TRAIN_CSV = ROOT / "data" / "auto_mpg" / "train.csv"
TRAIN_SHA256 = "231ef9fcb299f79363aef1f29a396cd982ffe32be487164138687a51b8225002"
TEST_CSV = ROOT / "assignments" / "a02_tabular_regression" / "hidden" / "data" / "test.csv"
TEST_SHA256 = "83258890c5cdf6c8ea49369eebd919d26039836f27a9ab933e1c85273fcdd7fd"

STEPS, LEARNING_RATE = 500, 0.1


def zscore(t, dim=0):
    variance, mean = torch.var_mean(t, dim=dim, correction=1)
    std = variance.sqrt()
    centred = t - mean.unsqueeze(dim)
    safe = torch.where(std > 0, std, torch.ones_like(std)).unsqueeze(dim)
    normalized = torch.where(std.unsqueeze(dim) > 0, centred / safe, torch.zeros_like(centred))
    return normalized, mean, std


def make_dummies(df, columns, drop_first=True):
    pieces = {}
    for name in df.columns:
        if name not in columns:
            pieces[name] = df[name]
    for name in columns:
        series = df[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            levels = list(series.cat.categories)
        else:
            levels = sorted(series.dropna().unique())
        if drop_first:
            levels = levels[1:]
        for level in levels:
            pieces[f"{name}_{level}"] = (series == level).to_numpy().astype(np.float32)
    return pd.DataFrame(pieces, index=df.index)


def fuel_cost(mpg):
    """Dollars of fuel a year for a car of ``mpg`` miles per gallon (a Series, an array or a number)."""
    return MILES_PER_YEAR / mpg * DOLLARS_PER_GALLON


def features(df):
    """The model's inputs: the six numeric columns, then origin's dummies (Japan, USA), float32 (n, 8).

    origin is read with its three levels fixed, so a frame in which some origin is missing (a few cars to
    predict) still gets the same columns.
    """
    frame = df[NUMERIC].copy()
    frame["origin"] = pd.Categorical(df["origin"], categories=ORIGINS)
    frame = make_dummies(frame, ["origin"], drop_first=True)
    return torch.tensor(frame.to_numpy(dtype=np.float64), dtype=torch.float32)


def train_price_model(df):
    X = features(df)
    y = torch.tensor(df[TARGET].to_numpy(dtype=np.float64), dtype=torch.float32)
    X_norm, x_mean, x_std = zscore(X)
    y_norm, y_mean, y_std = zscore(y)
    w = torch.zeros(X.shape[1])
    b = torch.zeros(())
    count = X.shape[0]
    for _ in range(STEPS):
        residual = X_norm @ w + b - y_norm
        w = w - LEARNING_RATE * (2.0 / count) * (X_norm.T @ residual)
        b = b - LEARNING_RATE * (2.0 / count) * residual.sum()
    scale = torch.where(x_std > 0, x_std, torch.ones_like(x_std))

    def predict(frame):
        inputs = (features(frame) - x_mean) / scale
        return (inputs @ w + b) * y_std + y_mean

    return predict


def r_squared(predicted, actual):
    """1 - SSE / SST in float64: 1 for perfect predictions, 0 for always predicting the mean of ``actual``."""
    predicted, actual = torch.as_tensor(predicted).double(), torch.as_tensor(actual).double()
    residual = ((actual - predicted) ** 2).sum()
    total = ((actual - actual.mean()) ** 2).sum()
    return (1.0 - residual / total).item()


def load(path, sha256):
    """A data file as a DataFrame with the fuel-cost target, after checking its sha256."""
    import io

    from autograder.testing import read_verified

    frame = pd.read_csv(io.BytesIO(read_verified(path, sha256)))
    frame[TARGET] = fuel_cost(frame["mpg"])
    return frame


def training_frame():
    """The public training rows (294 cars) with the fuel-cost target, mpg dropped (the target is made from it)."""
    return load(TRAIN_CSV, TRAIN_SHA256).drop(columns=["mpg"])


def hidden_frame():
    """The grader's hidden rows (98 cars) with the fuel-cost target, mpg dropped."""
    return load(TEST_CSV, TEST_SHA256).drop(columns=["mpg"])
