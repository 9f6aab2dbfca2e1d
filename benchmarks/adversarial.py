"""Corpus-adversarial 2-D latent on leave-one-corpus-out (issue 10, item 3: "domain-adversarial
or corpus-invariant latent losses on the autoencoder").

    python benchmarks/adversarial.py          # about 10 min on 2 cores, warm feature cache

The network is the supervised DAE of the default model (88-40-20-10-2, Gaussian input noise
1.0, reconstruction + 3 x the corpus-balanced cross-entropy of a softmax head on the 2-D
latent) plus a corpus classifier on the latent behind a gradient-reversal layer (Ganin &
Lempitsky 2015) with weight ``lam``: the encoder learns to make the corpora indistinguishable
in the latent while keeping the emotions separable. Domains: the three training corpora, or
(``+ target``) those and the unlabelled held-out corpus (transductive, its labels never
read). A logistic regression (C = 0.1, corpus-balanced weights) reads the latent. Shrink-10
speaker statistics; the three conditions of ``transfer.py`` (all, few, skewed; seeds 0-2).
``lam = 0`` is the plain supervised latent. Output: markdown on stdout.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

import transfer as T


def gradient_reversal(lam: float):
    """Identity forward, gradient times ``-lam`` backward (Ganin & Lempitsky 2015)."""
    import torch

    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            return -lam * grad

    return Reverse.apply


def dae_2d(n: int):
    """Encoder and decoder of the paper's n-40-20-10-2 autoencoder (created in this order)."""
    from torch import nn

    enc = nn.Sequential(nn.Linear(n, 40), nn.ReLU(), nn.Linear(40, 20), nn.ReLU(),
                        nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 2))
    dec = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 20), nn.ReLU(),
                        nn.Linear(20, 40), nn.ReLU(), nn.Linear(40, n))
    return enc, dec


def minibatches(n: int, gen, size: int = 64):
    """Row indices of one epoch in shuffled batches of ``size`` (torch generator ``gen``)."""
    import torch

    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, size):
        yield perm[start:start + size]


def adversarial_latent(Z, y, weights, domain, seed, lam, gamma=3.0, epochs=50):
    """Encoder of a supervised 2-D DAE trained with a gradient-reversed domain head."""
    import torch
    from torch import nn

    reverse = gradient_reversal(lam)
    torch.manual_seed(seed)
    enc, dec = dae_2d(Z.shape[1])
    classes, yi = np.unique(y[y != None], return_inverse=True)  # noqa: E711 - object array
    emo = nn.Linear(2, len(classes))
    dom = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, int(domain.max()) + 1))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters(), *emo.parameters(),
                            *dom.parameters()], lr=1e-3)
    X = torch.tensor(Z, dtype=torch.float32)
    labelled = torch.as_tensor(y != None)  # noqa: E711
    target = torch.full((len(Z),), -1, dtype=torch.long)
    target[labelled] = torch.as_tensor(yi, dtype=torch.long)
    w = torch.zeros(len(Z))
    w[labelled] = torch.as_tensor(weights, dtype=torch.float32)
    d = torch.as_tensor(domain, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for i in minibatches(len(X), gen):
            xb = X[i]
            z = enc(xb + torch.randn(xb.shape, generator=gen))
            loss = (dec(z) - xb).pow(2).mean()
            m = labelled[i]
            if m.any():
                ce = nn.functional.cross_entropy(emo(z[m]), target[i][m], reduction="none")
                loss = loss + gamma * (ce * w[i][m]).sum() / w[i][m].sum()
            if lam > 0:
                loss = loss + nn.functional.cross_entropy(dom(reverse(z)), d[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    enc.eval()
    return lambda A: enc(torch.tensor(A, dtype=torch.float32)).detach().numpy().astype(float)


class Adversarial(T.Idea):
    def __init__(self, label, lam, with_target=False):
        super().__init__(label, "shrink", k=10, weights=True, clf="logreg", C=0.1)
        self.lam, self.with_target = lam, with_target

    def fit_predict(self, Ztr, ytr, ctr, Zte, seed):
        from emolens.models import balanced_weights

        w = balanced_weights(ytr, ctr)
        domain = pd.factorize(ctr)[0]
        Z, y = Ztr, ytr.astype(object)
        if self.with_target:
            Z = np.vstack([Ztr, Zte])
            y = np.concatenate([y, np.full(len(Zte), None, dtype=object)])
            domain = np.concatenate([domain, np.full(len(Zte), domain.max() + 1)])
        encode = adversarial_latent(Z, y, w, domain, seed, self.lam)
        model = T.classifier("logreg", 0.1, True).fit(encode(Ztr), ytr, sample_weight=w)
        return model.predict(encode(Zte))


def main():
    if not T.CORPORA.is_dir():
        sys.exit(f"needs the shared corpora at {T.CORPORA}")
    import torch

    torch.set_num_threads(1)
    X, manifest = T.load()
    ideas = [Adversarial("supervised 2-D latent (lam 0)", 0.0),
             Adversarial("+ corpus-adversarial, training corpora (lam 0.3)", 0.3),
             Adversarial("+ corpus-adversarial, training corpora (lam 1)", 1.0),
             Adversarial("+ corpus-adversarial, training corpora + target (lam 0.3)", 0.3, True)]
    results = []
    for idea in ideas:
        t0 = time.time()
        results.append(T.evaluate(idea, X, manifest, seeds=(0, 1, 2)))
        print(T.table(results[-1]).to_string(), f"({time.time() - t0:.0f} s)", file=sys.stderr)
    T.print_tables(results)


if __name__ == "__main__":
    main()
