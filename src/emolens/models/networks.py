"""PyTorch networks of the paper: the 88-40-20-10-2 autoencoder and its VAE variant.

Layout (paper.md): encoder ``in → h1 → h2 → h3 → latent`` with ReLU after every hidden
layer and a linear latent; decoder ``latent → h3 → h2 → h1 → in`` with a ReLU only after its
second layer (``10 → 20`` in the paper network), all other decoder layers linear. For other
``hidden`` widths the same rule is kept: ReLU after each encoder hidden layer and after the
decoder's second layer unless that layer is the output layer.

The VAE shares the layout; its last encoder layer is doubled into a mean head and a
log-variance head (``h3 → latent`` twice), so it has ``h3 * latent + latent`` more weights.
"""

from __future__ import annotations

import torch
from torch import nn


def _encoder_body(n_in: int, hidden: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers)


def _decoder(n_in: int, hidden: tuple[int, ...], latent_dim: int) -> nn.Sequential:
    widths = [latent_dim, *reversed(hidden), n_in]
    layers: list[nn.Module] = []
    n_layers = len(widths) - 1
    for i in range(n_layers):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        # The paper's decoder has a ReLU only after its second layer (10 -> 20).
        if i == 1 and i < n_layers - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """Deterministic autoencoder (UAE/DAE). ``encoder`` maps input → latent."""

    variational = False

    def __init__(self, n_in: int, hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        body = _encoder_body(n_in, hidden)
        last = hidden[-1] if hidden else n_in
        self.encoder = nn.Sequential(*body, nn.Linear(last, latent_dim))
        self.decoder = _decoder(n_in, hidden, latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.encoder(x), None

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        z, _ = self.encode(x)
        return self.decoder(z), z, None


class _MeanEncoder(nn.Module):
    """body + mean head: the VAE encoder as one module mapping input → latent mean."""

    def __init__(self, body: nn.Sequential, mu: nn.Linear):
        super().__init__()
        self.body = body
        self.mu = mu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mu(self.body(x))


class VariationalAutoencoder(nn.Module):
    """Gaussian VAE (VAE, cyclical-annealing VAE, semi-supervised VAE).

    ``encoder`` maps input → latent mean (what ``transform`` returns and what attribution
    methods should explain); ``logvar`` is the log-variance head.
    """

    variational = True

    def __init__(self, n_in: int, hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        body = _encoder_body(n_in, hidden)
        last = hidden[-1] if hidden else n_in
        self.encoder = _MeanEncoder(body, nn.Linear(last, latent_dim))
        self.logvar = nn.Linear(last, latent_dim)
        self.decoder = _decoder(n_in, hidden, latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder.body(x)
        return self.encoder.mu(h), self.logvar(h)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encode(x)
        if self.training:
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
            z = mu + eps * torch.exp(0.5 * logvar)
        else:
            z = mu
        return self.decoder(z), mu, logvar


def build_network(kind: str, n_in: int, hidden: tuple[int, ...], latent_dim: int) -> nn.Module:
    """Network for an ``AutoencoderTransformer`` kind."""
    if kind in ("uae", "dae", "sae"):
        return Autoencoder(n_in, hidden, latent_dim)
    return VariationalAutoencoder(n_in, hidden, latent_dim)
