"""Reference solutions of a03_binary_classification (hidden: the grader loads it, students never see it).

Written independently of the source notebook's solution cells (which use the max trick, ``exp(-|z|)``):
``sigmoid`` as ``exp(-log(1 + exp(-z)))`` through ``torch.logaddexp``, ``bce_with_logits`` as the two
log-sum-exp terms ``-log s(x) = log(1 + e^-x)`` and ``-log(1 - s(x)) = log(1 + e^x)``, the metrics from a
confusion matrix built with ``torch.bincount``, and the filter on a sparse count matrix (``torch.sparse``)
trained full batch with Adam. Besides the notebook's functions it holds the suite's helper ``read_sms``
(the course's TSV files: ``label<TAB>text`` per line).
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.feature_extraction import text as sklearn_text
from torch import nn

FILTER_EPOCHS = 150
FILTER_LR = 0.02


def sigmoid(z):
    # s(z) = 1 / (1 + e^-z) = exp(-log(e^0 + e^-z)); logaddexp never overflows, and exp of a value <= 0 neither
    return torch.exp(-torch.logaddexp(torch.zeros_like(z), -z))


def bce_with_logits(logits, targets):
    # -[y log s(x) + (1 - y) log(1 - s(x))], with -log s(x) = log(1 + e^-x) and -log(1 - s(x)) = log(1 + e^x)
    zero = torch.zeros_like(logits)
    losses = targets * torch.logaddexp(zero, -logits) + (1 - targets) * torch.logaddexp(zero, logits)
    return losses.mean()


def binary_metrics(y_true, y_pred):
    truth = torch.as_tensor(y_true).reshape(-1).ne(0).long()
    guess = torch.as_tensor(y_pred).reshape(-1).ne(0).long()
    tn, fp, fn, tp = torch.bincount(truth * 2 + guess, minlength=4).tolist()

    def share(top, bottom):
        return top / bottom if bottom else 0.0

    return {"accuracy": share(tn + tp, tn + fp + fn + tp), "sensitivity": share(tp, fn + tp),
            "specificity": share(tn, tn + fp), "precision": share(tp, fp + tp)}


class SpamFilter:
    """A CountVectorizer's vocabulary and one neuron (nn.Linear(vocabulary, 1)) on the word counts."""

    def __init__(self, vectorizer, neuron):
        self.vectorizer = vectorizer
        self.neuron = neuron

    def logits(self, texts):
        with torch.no_grad():
            return self.neuron(_sparse(self.vectorizer.transform(list(texts)))).reshape(-1)

    def predict(self, texts):
        return self.logits(texts) > 0


def _sparse(matrix):
    coo = matrix.tocoo()
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    values = torch.from_numpy(coo.data.astype(np.float32))
    return torch.sparse_coo_tensor(indices, values, coo.shape, check_invariants=False).coalesce()


def train_spam_filter(texts, labels, *, seed=0, epochs=FILTER_EPOCHS, lr=FILTER_LR):
    vectorizer = sklearn_text.CountVectorizer()
    X = _sparse(vectorizer.fit_transform(list(texts)))
    y = torch.as_tensor(labels).reshape(-1).float()
    generator = torch.Generator().manual_seed(seed)
    neuron = nn.Linear(X.shape[1], 1)
    with torch.no_grad():
        bound = 1.0 / X.shape[1] ** 0.5
        neuron.weight.copy_(torch.rand(neuron.weight.shape, generator=generator) * 2 * bound - bound)
        neuron.bias.zero_()
    optimizer = torch.optim.Adam(neuron.parameters(), lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(neuron(X).reshape(-1), y)
        loss.backward()
        optimizer.step()
    return SpamFilter(vectorizer, neuron)


def read_sms(raw):
    """The course's TSV bytes -> (texts, labels): a list of str and a bool tensor, True = spam."""
    texts, labels = [], []
    for line in raw.decode("utf-8").splitlines():
        label, text = line.split("\t", 1)
        texts.append(text)
        labels.append(label == "spam")
    return texts, torch.tensor(labels)
