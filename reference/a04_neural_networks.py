"""Reference solutions of a04_neural_networks (hidden: the grader loads it, students never see it).

Written independently of the source notebook's solution cells (``torch.where`` for the ReLU, index
batches from a permutation, ``F.binary_cross_entropy_with_logits``), so the course author's check
compares two implementations. Besides the notebook's functions it holds the suite's helpers: the
loan-approval generator (the notebook's own, word for word in what it draws), and ``train_classifier``
takes two keywords a student's does not: ``seed`` (its own shuffling generator, so the reference's
runs are fixed by the secret seed) and ``shuffle`` (batches in order, for the suite's shuffling test).
"""

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

LOAN_INTENTS = ("education", "medical", "personal", "venture")


def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def build_mlp(n_in, n_hidden, n_out):
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))


def train_classifier(model, X, y, epochs, batch_size, lr, *, seed=None, shuffle=True):
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    count = X.shape[0]
    history = []
    for _ in range(epochs):
        order = torch.randperm(count, generator=generator) if shuffle else torch.arange(count)
        total, batches = 0.0, 0
        for first in range(0, count, batch_size):
            rows = order[first:first + batch_size]
            optimizer.zero_grad()
            logits = model(X[rows]).reshape(-1)
            loss = F.binary_cross_entropy_with_logits(logits, y[rows])
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        history.append(total / batches)
    return history


def make_loans(n, seed):
    """The notebook's loan-approval generator: a DataFrame of n applications, ``loan_status`` 1 = approved.

    Income log-normal around 55,000 a year; the loan a uniform 3 % to 60 % of it; a credit history of 0
    to 25 years; one of four intents. Approved when the loan's share of income is under a limit that grows
    with the credit history (quickly at first, then levelling off) and depends on the intent, and, for an
    income under 25,000, only for a share under 12 %; then 5 % of the decisions are flipped (noise).
    Same draws, in the same order, as the notebook's ``make_loans`` (written apart, so no line repeats it).
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    log_income = math.log(55_000.0) + 0.45 * torch.randn(n, generator=generator)
    person_income = log_income.exp()
    share = torch.rand(n, generator=generator).mul(0.57).add(0.03)
    years = torch.rand(n, generator=generator).mul(25.0)
    intent_share = torch.tensor([0.3, 0.2, 0.3, 0.2])
    intent = torch.multinomial(intent_share, n, True, generator=generator)
    adjustment = torch.tensor([0.05, 0.0, -0.02, -0.08]).index_select(0, intent)
    limit = 0.12 + 0.25 * (1.0 - torch.exp(years / -4.0)) + adjustment
    approved = torch.logical_and(share < limit, torch.logical_or(person_income >= 25_000, share < 0.12))
    noise = torch.rand(n, generator=generator) < 0.05
    columns = {
        "person_income": torch.round(person_income).to(torch.float64).numpy(),
        "loan_amount": torch.round(person_income * share).to(torch.float64).numpy(),
        "loan_percent_income": np.round(share.to(torch.float64).numpy(), 3),
        "credit_history_years": np.round(years.to(torch.float64).numpy(), 1),
        "loan_intent": pd.Categorical.from_codes(intent.numpy(), categories=LOAN_INTENTS),
        "loan_status": torch.logical_xor(approved, noise).to(torch.int64).numpy(),
    }
    return pd.DataFrame(columns)


def loan_features(frame):
    numeric = ["person_income", "loan_percent_income", "credit_history_years"]
    values = torch.tensor(frame[numeric].to_numpy(dtype="float64"))
    standardized = (values - values.mean(dim=0)) / values.std(dim=0)
    intents = pd.Categorical(frame["loan_intent"], categories=LOAN_INTENTS)
    one_hot = torch.tensor(pd.get_dummies(intents).to_numpy(dtype="float64"))
    return torch.cat([standardized, one_hot], dim=1).float()


def single_neuron(n_in):
    return nn.Linear(n_in, 1)
