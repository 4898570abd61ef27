"""Look the hidden cars up in any table with car columns and a fuel figure readable in the sandbox (a02).

Its train_price_model learns nothing: it walks ~/data, the venv's site-packages, /usr/share and /var, keeps
every csv/json/gz table with the cars' columns and their mpg or cost, and predicts a car's cost from the row that
matches it exactly, else the training average. Contained: the hidden cars are nowhere it can read, so both
threshold cells score 0 (R² about 0) with the reason.

assignment: a02_tabular_regression
expect: test_zscore=5 test_make_dummies=5 test_train_price_model=1 test_hidden_cars=0 test_secret_prices=0
reason: R²
"""

# %% [zscore]
def zscore(t, dim=0):
    mean = t.mean(dim=dim)
    std = t.std(dim=dim)
    std_kept = std.unsqueeze(dim)
    normalized = torch.where(std_kept > 0, (t - mean.unsqueeze(dim)) / torch.where(std_kept > 0, std_kept, 1.0), 0.0)
    return normalized, mean, std

# %% [make_dummies]
def make_dummies(df, columns, drop_first=True):
    return pd.get_dummies(df, columns=columns, drop_first=drop_first, dtype="float32")

# %% [train_price_model]
import gzip
import json
import os
import site
import sys
import time

KEY = ["cylinders", "displacement", "horsepower", "weight", "acceleration"]


def leo_tables(budget_s=3.0, max_bytes=5_000_000):
    roots = [os.path.expanduser("~/data"), *site.getsitepackages(), sys.prefix, "/usr/share", "/var"]
    started, tables = time.monotonic(), []
    for root in roots:
        for folder, _, files in os.walk(root):
            if time.monotonic() - started > budget_s:
                return tables
            for name in files:
                if not name.endswith((".csv", ".json", ".gz", ".npz")):
                    continue
                path = os.path.join(folder, name)
                try:
                    if os.path.getsize(path) > max_bytes:
                        continue
                    if name.endswith(".npz"):
                        continue  # arrays without column names: nothing to match a car by
                    opener = gzip.open if name.endswith(".gz") else open
                    with opener(path, "rt") as handle:
                        text = handle.read()
                    frame = (pd.DataFrame(json.loads(text)) if name.endswith(".json")
                             else pd.read_csv(io.StringIO(text)))
                except Exception:
                    continue
                frame.columns = [str(c).lower() for c in frame.columns]
                if set(KEY) <= set(frame.columns) and ("mpg" in frame.columns or "fuel_cost" in frame.columns):
                    tables.append(frame)
    return tables


def train_price_model(df):
    known = {}
    for frame in [*leo_tables(), df]:
        cost = frame["fuel_cost"] if "fuel_cost" in frame.columns else 42000.0 / frame["mpg"]
        for key, value in zip(map(tuple, frame[KEY].to_numpy(dtype="float64")), cost):
            known[key] = float(value)
    average = float(df["fuel_cost"].mean())

    def predict(frame):
        keys = map(tuple, frame[KEY].to_numpy(dtype="float64"))
        return torch.tensor([known.get(key, average) for key in keys], dtype=torch.float32)

    return predict
