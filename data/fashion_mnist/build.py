"""Build the course's clothing images (a06_cnn) from Debian's Fashion-MNIST package.

Where from. Debian's ``dataset-fashion-mnist`` package (version 0.0~git20200523.55506a9-1, architecture all)
ships Zalando Research's Fashion-MNIST as the four original idx files under
``/usr/share/datasets/fashion-mnist/``: 60,000 training and 10,000 test images, 28 x 28 grey levels 0-255,
labels 0-9 (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
Fashion-MNIST is by Han Xiao, Kashif Rasul and Roland Vollgraf (Zalando SE, 2017,
https://github.com/zalandoresearch/fashion-mnist), under the MIT licence (the package's copyright file).

Never install the package (``dpkg -i``, ``apt install``): everything under /usr is readable inside student
kernels and would put the hidden test images there with their labels. This script only unpacks it into a
temporary folder with ``dpkg-deb -x``. Nothing is downloaded unless you ask for it::

    python data/fashion_mnist/build.py path/to/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb
    python data/fashion_mnist/build.py --download    # apt-get download into a temporary folder first

Input checksums (sha256, asserted): the .deb and the four gzipped idx files, ``SOURCES`` below.

The course's share of Fashion-MNIST (a partition of the indices agreed with a07_transfer_learning, so no
image hidden by one assignment is readable through another):
    - public, ``data/fashion_mnist/fashion_public.npz`` (mounted read-only at ``~/data/fashion_mnist``):
      training-set images 30,000 to 35,999 in their original order, the first 5,000 as ``train_images`` /
      ``train_labels``, the last 1,000 as ``val_images`` / ``val_labels``;
    - hidden, ``assignments/a06_cnn/hidden/data/fashion_test.npz`` (beside the suite: never mounted, never
      released): test-set images 0 to 1,999 as ``images`` / ``labels``.

Each ``.npz`` holds uint8 arrays (as ``np.savez_compressed`` writes them, with fixed timestamps; no pickles),
images (n, 28, 28) and labels (n,). The script asserts the sha256 of each file it writes (``EXPECTED``); the
notebook and the suite check them too.
"""

import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "data" / "fashion_mnist" / "fashion_public.npz"
HIDDEN = ROOT / "assignments" / "a06_cnn" / "hidden" / "data" / "fashion_test.npz"
PACKAGE = "dataset-fashion-mnist"
DEB_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
FOLDER = "usr/share/datasets/fashion-mnist"
SOURCES = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
PUBLIC_ROWS, VAL_ROWS, HIDDEN_ROWS = range(30000, 36000), 1000, range(0, 2000)
EXPECTED = {
    PUBLIC.name: "471db4c145abbf0d05f76927883e9da60d974203ab595adb81bb998443752bdf",
    HIDDEN.name: "b7f2e640aeacafed6eee37df496be21158de598ee17d8462314f60ce1c3c1917",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unpack(deb: Path, into: Path) -> dict[str, bytes]:
    """The four idx files (decompressed) of the package, after checking every checksum."""
    if sha256(deb.read_bytes()) != DEB_SHA256:
        raise SystemExit(f"{deb}: sha256 {sha256(deb.read_bytes())}, expected {DEB_SHA256} ({PACKAGE} "
                         "0.0~git20200523.55506a9-1); pass that package's .deb, or --download")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    files = {}
    for name, digest in SOURCES.items():
        packed = (into / FOLDER / name).read_bytes()
        if sha256(packed) != digest:
            raise SystemExit(f"{name}: sha256 {sha256(packed)}, expected {digest}")
        files[name] = gzip.decompress(packed)
    return files


def idx(data: bytes, dims: int) -> np.ndarray:
    """An idx array of unsigned bytes (magic 0x0000080N, N dimensions as big-endian int32s)."""
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x800 + dims:
        raise SystemExit(f"not an idx{dims}-ubyte file (magic {magic:#x})")
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


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
    return sha256(buffer.getvalue())


def build(deb: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = unpack(deb, Path(folder))
    train_images = idx(files["train-images-idx3-ubyte.gz"], 3)
    train_labels = idx(files["train-labels-idx1-ubyte.gz"], 1)
    test_images = idx(files["t10k-images-idx3-ubyte.gz"], 3)
    test_labels = idx(files["t10k-labels-idx1-ubyte.gz"], 1)
    assert train_images.shape == (60000, 28, 28) and test_images.shape == (10000, 28, 28)
    public = slice(PUBLIC_ROWS.start, PUBLIC_ROWS.stop)
    images, labels = train_images[public], train_labels[public]
    written = {
        PUBLIC.name: write(PUBLIC, train_images=images[:-VAL_ROWS], train_labels=labels[:-VAL_ROWS],
                           val_images=images[-VAL_ROWS:], val_labels=labels[-VAL_ROWS:]),
        HIDDEN.name: write(HIDDEN, images=test_images[HIDDEN_ROWS.start:HIDDEN_ROWS.stop],
                           labels=test_labels[HIDDEN_ROWS.start:HIDDEN_ROWS.stop]),
    }
    for name, digest in written.items():
        print(f"{name}: sha256 {digest}")
        if digest != EXPECTED[name]:
            raise SystemExit(f"{name}: sha256 {digest}, expected {EXPECTED[name]}")


def download(into: Path) -> Path:
    subprocess.run(["apt-get", "download", PACKAGE], cwd=into, check=True)
    (deb,) = into.glob(f"{PACKAGE}_*.deb")
    return deb


def main(argv: list[str]) -> None:
    if argv == ["--download"]:
        with tempfile.TemporaryDirectory() as folder:
            build(download(Path(folder)))
    elif len(argv) == 1:
        build(Path(argv[0]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
