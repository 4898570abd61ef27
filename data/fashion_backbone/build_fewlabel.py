"""Build a07_transfer_learning's few-label task: five Fashion-MNIST classes the course backbone never saw.

The task (the seed's tyre story in miniature: a pretrained network, a new question, few labelled images):
classes 5-9 of Fashion-MNIST, Sandal, Shirt, Sneaker, Bag and Ankle boot, relabelled 0-4 in that order.
The backbone (``build_backbone.py``) was trained on classes 0-4 only.

    - public, ``data/fashion_backbone/fewlabel_public.npz`` (mounted read-only at ``~/data`` in every kernel):
      drawn from Fashion-MNIST's training images 40000..59999 (the a07 share of the course's partition), 40
      images of each class for training and 40 for validation (200 and 200), each part shuffled;
    - hidden, ``assignments/a07_transfer_learning/hidden/data/fewlabel_test.npz`` (beside the hidden suite,
      never mounted, never released): every test image 5000..9999 of classes 5-9 (2,530 images).

Drawn with a fixed numpy generator (seed SEED). Each ``.npz`` holds uint8 arrays as ``np.savez_compressed``
writes them (fixed timestamps, no pickles): images (n, 28, 28) 0-255 and labels (n,) 0-4; the public file
as ``train_images``, ``train_labels``, ``val_images``, ``val_labels``, the hidden one as ``images``,
``labels``. The script prints the sha256 of each file and asserts ``EXPECTED``::

    python data/fashion_backbone/build_fewlabel.py [path/to/dataset-fashion-mnist_*.deb]
"""

import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fmnist

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "data" / "fashion_backbone" / "fewlabel_public.npz"
HIDDEN = ROOT / "assignments" / "a07_transfer_learning" / "hidden" / "data" / "fewlabel_test.npz"
SEED, PER_CLASS_TRAIN, PER_CLASS_VAL = 7, 40, 40
PUBLIC_RANGE, HIDDEN_RANGE, CLASSES = (40000, 60000), (5000, 10000), (5, 6, 7, 8, 9)
EXPECTED = {
    PUBLIC.name: "fba8075f30e5366b67f82f591c418f74d3fe19bc3260ee036ffc4a7f0ac540a8",
    HIDDEN.name: "2b54f82bf0bbebac4c3031cabce560e8e64e4de5d4eb2d7bf355b4edb4d8e014",
}


def main(deb: str | None) -> None:
    data = fmnist.load(Path(deb) if deb else None)
    rng = np.random.default_rng(SEED)
    lo, hi = PUBLIC_RANGE
    labels = data["train_labels"]
    parts = {"train": [], "val": []}
    for new, old in enumerate(CLASSES):
        rows = lo + np.flatnonzero(labels[lo:hi] == old)
        chosen = rng.choice(rows, PER_CLASS_TRAIN + PER_CLASS_VAL, replace=False)
        parts["train"].append((chosen[:PER_CLASS_TRAIN], new))
        parts["val"].append((chosen[PER_CLASS_TRAIN:], new))
    public = {}
    for part, pieces in parts.items():
        rows = np.concatenate([r for r, _ in pieces])
        new_labels = np.concatenate([np.full(len(r), n, dtype=np.uint8) for r, n in pieces])
        order = rng.permutation(len(rows))
        public[f"{part}_images"] = data["train_images"][rows[order]]
        public[f"{part}_labels"] = new_labels[order]
    lo, hi = HIDDEN_RANGE
    keep = lo + np.flatnonzero(np.isin(data["test_labels"][lo:hi], CLASSES))
    hidden = {"images": data["test_images"][keep],
              "labels": (data["test_labels"][keep] - CLASSES[0]).astype(np.uint8)}
    HIDDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(PUBLIC, **public)
    np.savez_compressed(HIDDEN, **hidden)
    for path, arrays in ((PUBLIC, public), (HIDDEN, hidden)):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        sizes = {name: array.shape for name, array in arrays.items()}
        print(f"{path.relative_to(ROOT)}: {sizes}, sha256 {digest}")
        if EXPECTED[path.name] != digest:
            raise SystemExit(f"{path.name}: sha256 {digest}, expected {EXPECTED[path.name]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
