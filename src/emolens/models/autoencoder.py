"""scikit-learn transformer around the paper's autoencoders (UAE, DAE, VAE, cVAE, ssVAE) and a
supervised DAE (SAE).

Training choices (paper.md; the paper's code was never published):

* Adam, MSE reconstruction, mini-batches drawn by indexing one tensor with a seeded
  permutation (no DataLoader: 100 epochs on ~1000 rows take about half a second on one
  thread). :func:`fit_autoencoders` trains several of one configuration at once (stacked
  weights, batched matrix products); ``fit`` is that with one.
* UAE/DAE minimise the mean squared error over all inputs. The DAE corrupts only its
  *training* input: ``noise="gaussian"`` adds N(0, noise_std²) to the z-scored features (the
  follow-up code uses std 1.0); ``noise="masking"`` sets each input to 0 (the training mean
  after z-scoring) with probability ``mask_rate``. ``transform`` never adds noise.
* VAEs minimise the per-sample ELBO: squared error summed over the features plus
  ``beta`` × KL(q(z|x) || N(0, I)) summed over latent dimensions, both averaged over the
  batch. Summing over the 88 features keeps a unit ``beta`` from collapsing a 2-D latent.
  ``kind="cvae"`` anneals beta cyclically per optimisation step: ``cycles`` cycles, in each
  beta rises linearly from 0 to its maximum over the first ``ramp`` fraction, then stays.
  ``kind="ssvae"`` adds ``gamma`` × L_clus on the labelled rows of each batch, L_clus = (sum of
  Euclidean distances of latent means to their class centroid) / (sum of distances between
  class centroids); rows whose label is missing only contribute to the ELBO.
* ``kind="sae"`` is the DAE plus a linear softmax head on the latent, trained with the
  reconstruction error + ``gamma`` × cross-entropy of the head on the labelled rows
  (class-balanced, or weighted by the ``sample_weights`` of :func:`fit_autoencoders`;
  unlabelled rows only reconstruct). Two
  unsupervised dimensions cannot hold what separates four emotions across several corpora
  (docs/benchmarks.md#transfer); the head makes them. It is only a training device: it is
  dropped after fitting, and the pipeline's classifier reads the latent as for any kind.
* ``loss_curve_`` holds the mean reconstruction MSE per epoch for every kind (comparable
  across kinds); ``objective_curve_`` the full training objective per epoch.
* Reproducibility: weights are initialised under ``torch.manual_seed(seed)`` inside a forked
  RNG (the global torch RNG is left untouched) and a private ``torch.Generator`` seeded with
  ``seed`` drives shuffling, noise and VAE sampling, so two fits with the same seed give
  bit-identical weights on CPU.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from emolens.results import latent_column

from .networks import build_network

#: Kinds of autoencoder.
AE_KINDS = ("uae", "dae", "vae", "cvae", "ssvae", "sae")
#: Kinds that use labels in ``fit``.
SUPERVISED_KINDS = ("ssvae", "sae")
NOISE_KINDS = ("gaussian", "masking")
_DEFAULT_BETA = {"vae": 1.0, "cvae": 0.25, "ssvae": 1.0}


def cyclical_beta(step: int, total_steps: int, beta_max: float, cycles: int, ramp: float) -> float:
    """Beta of cyclical KL annealing (Fu et al. 2019) at optimisation step ``step``."""
    if total_steps <= 0:
        return beta_max
    position = (step * cycles / total_steps) % 1.0
    return beta_max * min(1.0, position / ramp)


def cluster_loss(z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """L_clus of the semi-supervised VAE: within-class spread / between-centroid spread.

    Args:
        z: latent points (n, k).
        codes: integer class code per row (n,).

    Returns:
        Scalar tensor; 0 when fewer than two classes are present (nothing to separate).
    """
    classes = torch.unique(codes)
    if classes.numel() < 2:
        return z.new_zeros(())
    onehot = (codes[:, None] == classes[None, :]).to(z.dtype)
    centroids = (onehot.T @ z) / onehot.sum(0)[:, None]
    within = torch.linalg.vector_norm(z - onehot @ centroids, dim=1).sum()
    i, j = torch.triu_indices(len(classes), len(classes), offset=1)
    between = torch.linalg.vector_norm(centroids[i] - centroids[j], dim=1).sum()
    return within / (between + 1e-8)


def _adam(params: list[torch.Tensor], lr: float, weight_decay: float) -> torch.optim.Adam:
    # The fused kernel is ~30 % faster for these tiny layers (and deterministic on CPU);
    # older torch builds without CPU support for it fall back to the default implementation.
    # Adam is elementwise, so on stacked parameters it is K independent Adams.
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Autoencoder latent as a scikit-learn transformer.

    Args:
        kind: ``"uae"`` undercomplete AE, ``"dae"`` denoising AE, ``"vae"`` variational AE,
            ``"cvae"`` VAE with cyclical KL annealing, ``"ssvae"`` semi-supervised VAE with the
            cluster loss (uses ``y`` in fit; missing labels are unsupervised rows), ``"sae"``
            supervised DAE (a softmax head on the latent, ``gamma`` × cross-entropy; uses ``y``
            in fit).
        latent_dim: size of the latent (paper: 2).
        hidden: encoder hidden widths, mirrored in the decoder (paper: (40, 20, 10)).
        noise: DAE/SAE corruption, ``"gaussian"`` (additive) or ``"masking"``.
        noise_std: std of the additive Gaussian noise of the DAE.
        mask_rate: probability of zeroing an input for ``noise="masking"``.
        epochs, lr, batch_size, weight_decay: Adam training settings.
        beta: KL weight; ``None`` means 1.0 for vae/ssvae and a maximum of 0.25 for cvae.
        cycles, ramp: cyclical annealing of the cvae (4 cycles, rising over half of each).
        gamma: weight of the ssvae cluster loss or of the sae cross-entropy.
        seed: seeds weight init, shuffling, noise and sampling.
        device: torch device (``"cpu"``; bit-for-bit reproducibility is only promised there).

    Attributes:
        module_: the trained ``torch.nn.Module`` (``encoder``, ``decoder`` submodules).
        encoder_: ``nn.Module`` mapping inputs to the latent (the mean for VAEs), in eval mode.
        loss_curve_: mean reconstruction MSE per epoch.
        objective_curve_: training objective per epoch.
        classes_: (ssvae/sae fitted with labels) the class labels their loss used.
    """

    def __init__(
        self,
        kind="uae",
        latent_dim=2,
        hidden=(40, 20, 10),
        noise="gaussian",
        noise_std=1.0,
        mask_rate=0.2,
        epochs=100,
        lr=1e-3,
        batch_size=64,
        weight_decay=0.0,
        beta=None,
        cycles=4,
        ramp=0.5,
        gamma=1.0,
        seed=0,
        device="cpu",
    ):
        self.kind = kind
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.noise = noise
        self.noise_std = noise_std
        self.mask_rate = mask_rate
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.beta = beta
        self.cycles = cycles
        self.ramp = ramp
        self.gamma = gamma
        self.seed = seed
        self.device = device

    # -- parameter checks ---------------------------------------------------------------
    def _check_params(self) -> None:
        def positive_int(name, minimum=1):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < minimum:
                raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}.")

        def number(name, low=0.0, low_open=False, high=None):
            v = getattr(self, name)
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > low if low_open else v >= low) and (high is None or v <= high)
            if not ok:
                bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high else "")
                raise ValueError(f"{name} must be a number {bound}, got {v!r}.")

        if self.kind not in AE_KINDS:
            raise ValueError(f"kind must be one of {AE_KINDS}, got {self.kind!r}.")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {NOISE_KINDS}, got {self.noise!r}.")
        positive_int("latent_dim")
        positive_int("epochs", 0)
        positive_int("batch_size")
        positive_int("cycles")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}.")
        hidden = self.hidden
        if not isinstance(hidden, (tuple, list)) or not all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in hidden
        ):
            raise ValueError(f"hidden must be a tuple of positive ints, got {hidden!r}.")
        number("noise_std")
        number("mask_rate", high=1.0)
        if self.mask_rate >= 1.0:
            raise ValueError(f"mask_rate must be < 1, got {self.mask_rate!r}.")
        number("lr", low_open=True)
        number("weight_decay")
        number("ramp", low_open=True, high=1.0)
        number("gamma")
        if self.beta is not None:
            number("beta")

    @property
    def beta_(self) -> float:
        """The KL weight (maximum for cvae) actually used."""
        return float(self.beta) if self.beta is not None else _DEFAULT_BETA.get(self.kind, 0.0)

    # -- fitting ------------------------------------------------------------------------
    def _label_codes(self, y, n_rows: int):
        """Integer codes for the supervised loss; -1 marks unlabelled rows."""
        if self.kind not in SUPERVISED_KINDS or y is None:
            return None, None
        y = np.asarray(y, dtype=object)
        if y.ndim != 1 or y.shape[0] != n_rows:
            raise ValueError(f"y must be 1-D with {n_rows} entries, got shape {y.shape}.")
        missing = np.asarray(pd.isna(y), dtype=bool)
        labelled = y[~missing]
        try:
            classes = np.unique(labelled)
        except TypeError:  # mixed label types: compare them as strings
            labelled = labelled.astype(str)
            classes = np.unique(labelled)
        classes = np.asarray(classes.tolist())  # object -> native dtype (ints stay ints)
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        codes = np.full(n_rows, -1, dtype=np.int64)
        codes[~missing] = [lookup[v] for v in labelled.tolist()]
        return codes, classes

    def fit(self, X, y=None):
        """Train the autoencoder on X (labels only used by ``kind="ssvae"`` and ``"sae"``).

        The sae's cross-entropy is class-balanced; other row weights (e.g.
        :func:`~emolens.models.balanced_weights`) go through :func:`fit_autoencoders`, as
        :func:`~emolens.models.fit_pipelines` passes them.

        Args:
            X: scaled features (n_samples, n_features).
            y: class labels for ssvae/sae (missing values allowed); ignored by other kinds.

        Returns:
            self
        """
        fit_autoencoders([self], [X], [y])
        return self

    def _prepare(self, X, y, sample_weight=None):
        """Validate parameters and data; the array, label codes and cross-entropy weights."""
        self._check_params()
        Xv = validate_data(self, X, dtype=[np.float64, np.float32])
        codes, classes = self._label_codes(y, Xv.shape[0])
        if classes is not None:
            self.classes_ = classes
        weights = None
        if self.kind == "sae" and codes is not None:
            weights = _ce_weights(codes, sample_weight)
        return Xv, codes, weights

    def _settings(self) -> tuple:
        """Everything that must be equal for autoencoders to train in lockstep (not the seed)."""
        params = self.get_params(deep=False)
        params.pop("seed")
        params["hidden"] = tuple(params["hidden"])
        return tuple(sorted(params.items()))

    # -- inference ----------------------------------------------------------------------
    def _tensor(self, X):
        check_is_fitted(self, "module_")
        Xv = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        device = next(self.module_.parameters()).device
        Xt = torch.tensor(Xv, dtype=torch.float32, device=device)
        return Xv, Xt

    def transform(self, X):
        """Latent codes (means for VAEs), shape (n_samples, latent_dim), in X's float dtype."""
        Xv, Xt = self._tensor(X)
        with torch.no_grad():
            z = self.encoder_(Xt)
        return z.cpu().numpy().astype(Xv.dtype)

    def decode(self, Z) -> np.ndarray:
        """Reconstructions (n_samples, n_features) from latent codes Z."""
        check_is_fitted(self, "module_")
        Z = np.asarray(Z, dtype=np.float32)
        if Z.ndim != 2 or Z.shape[1] != self.latent_dim:
            raise ValueError(f"Z must have shape (n, {self.latent_dim}), got {Z.shape}.")
        with torch.no_grad():
            out = self.module_.decoder(torch.as_tensor(Z))
        return out.cpu().numpy().astype(np.float64)

    def reconstruction_error(self, X) -> np.ndarray:
        """Per-sample mean squared reconstruction error (no noise, latent mean), float64."""
        Xv, Xt = self._tensor(X)
        with torch.no_grad():
            recon = self.module_.decoder(self.encoder_(Xt))
            err = (recon - Xt).pow(2).mean(1)
        return err.cpu().numpy().astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "module_")
        return np.asarray([latent_column(i) for i in range(self.latent_dim)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def count_parameters(module: nn.Module) -> int:
    """Number of weights and biases of a torch module."""
    return int(sum(p.numel() for p in module.parameters()))


# -- training, several autoencoders at once ---------------------------------------------------
#: Memory budget of one lockstep group (bytes, roughly): the paper's autoencoders on a few
#: thousand eGeMAPS rows need ~2 MB a member, ComParE's 6373 features ~150 MB per 1000 rows.
LOCKSTEP_BYTES = 1 << 30


def _ce_weights(codes: np.ndarray, sample_weight) -> np.ndarray:
    """Cross-entropy weight per row (0 for unlabelled rows), mean 1 over the labelled rows."""
    labelled = codes >= 0
    if sample_weight is None:
        counts = np.bincount(codes[labelled])
        w = np.zeros(len(codes))
        w[labelled] = 1.0 / counts[codes[labelled]]
    else:
        w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if w.shape[0] != len(codes) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"sample_weight must hold {len(codes)} finite values >= 0.")
        w = np.where(labelled, w, 0.0)
    total = w.sum()
    if total <= 0:
        raise ValueError("sample_weight gives the labelled rows no weight.")
    return w * (labelled.sum() / total)


def fit_autoencoders(estimators, Xs, ys=None, sample_weights=None) -> list:
    """Fit autoencoders that differ only in ``seed`` (and data) together, in lockstep.

    Each one trains as it would alone (own initialisation, shuffling, noise and sampling from
    its seed; its own mean loss and Adam state): the weights of all of them are stacked and
    every optimisation step runs one batched matrix product per layer, which removes most of
    torch's per-step overhead (several times faster than one by one for the paper's tiny
    networks).
    Weights agree with separate fits up to float rounding (~1e-7; reductions run over stacked
    tensors); the same group of estimators and data gives bit-identical weights. Estimators
    whose settings or number of steps per epoch differ are trained in separate groups, and a
    group is split when it would need more than :data:`LOCKSTEP_BYTES` of memory.

    Args:
        estimators: ``AutoencoderTransformer`` instances (fitted in place).
        Xs: one scaled feature matrix per estimator.
        ys: one label vector (or None) per estimator; only ``kind="ssvae"``/``"sae"`` use them.
        sample_weights: one weight vector (or None: class-balanced) per estimator, the weight
            of each row in the sae cross-entropy; other kinds ignore them.

    Returns:
        The estimators, fitted.
    """
    estimators = list(estimators)
    Xs = list(Xs)
    ys = [None] * len(estimators) if ys is None else list(ys)
    ws = [None] * len(estimators) if sample_weights is None else list(sample_weights)
    if not len(estimators) == len(Xs) == len(ys) == len(ws):
        raise ValueError("estimators, Xs, ys and sample_weights must have the same length.")
    groups: dict[tuple, list] = {}
    for est, X, y, w in zip(estimators, Xs, ys, ws):
        if not isinstance(est, AutoencoderTransformer):
            raise TypeError(f"expected AutoencoderTransformer, got {type(est).__name__}.")
        Xv, codes, weights = est._prepare(X, y, w)
        n, n_features = Xv.shape
        steps = math.ceil(n / min(int(est.batch_size), n))
        # labelled ssvae/sae apart from unlabelled, and sae by number of classes (head size)
        n_classes = None if codes is None else len(est.classes_)
        key = (est._settings(), n_features, steps, n_classes)
        groups.setdefault(key, []).append((est, Xv, codes, weights))
    for members in groups.values():
        est, Xv, _, _ = members[0]
        width = int(est.batch_size)
        span = math.ceil(len(Xv) / min(width, len(Xv))) * width
        # A member's training tensors are ~6 epoch-sized float32 copies of its data; cap a
        # group's memory (wide feature sets such as ComParE on large corpora) by training it
        # in smaller groups.
        per_member = 6 * 4 * span * Xv.shape[1]
        size = max(1, min(len(members), LOCKSTEP_BYTES // per_member))
        for i in range(0, len(members), size):
            _train_lockstep(members[i:i + size])
    return estimators


def _apply(seq: nn.Module, prefix: str, params: dict, x: torch.Tensor) -> torch.Tensor:
    """Run the Linear/ReLU layers of ``seq`` with stacked weights on x (K, batch, features)."""
    for name, layer in seq.named_children():
        key = f"{prefix}.{name}"
        if isinstance(layer, nn.Linear):
            x = _linear(key, params, x)
        elif isinstance(layer, nn.ReLU):
            x = torch.relu(x)
        elif isinstance(layer, nn.Sequential):
            x = _apply(layer, key, params, x)
        else:  # pragma: no cover - build_network only makes Linear/ReLU stacks
            raise TypeError(f"cannot stack layer {type(layer).__name__}")
    return x


def _step_major(t: torch.Tensor, steps: int) -> torch.Tensor:
    """(K, steps * width, d) -> contiguous (steps, K, width, d)."""
    K, span, d = t.shape
    return t.view(K, steps, span // steps, d).transpose(0, 1).contiguous()


def _layout(p: torch.Tensor) -> torch.Tensor:
    """nn.Linear weight (out, in) <-> stacked layout (in, out); biases unchanged."""
    return p.T if p.ndim == 2 else p


def _linear(key: str, params: dict, x: torch.Tensor) -> torch.Tensor:
    """The Linear layer ``key`` with stacked weights (K, in, out) on x (K, batch, in)."""
    weight, bias = params[f"{key}.weight"], params[f"{key}.bias"]
    return torch.baddbmm(bias.unsqueeze(1), x, weight)


def _train_lockstep(members: list) -> None:
    """Train ``members`` (estimator, X, label codes, cross-entropy weights), all with the same
    settings and steps."""
    run = _Lockstep(members)
    for _ in range(int(run.est.epochs)):
        run.epoch()
    run.finish()


class _Lockstep:
    """The state of one lockstep group: stacked weights, their optimiser, padded data."""

    def __init__(self, members: list):
        est = self.est = members[0][0]
        self.members = members
        self.device = device = torch.device(est.device)
        self.K = K = len(members)
        self.n_features = members[0][1].shape[1]
        self.supervised = est.kind == "sae" and est.gamma > 0 and members[0][2] is not None
        self.modules, self.gens, self.codes_t = [], [], []
        for e, Xv, codes, _ in members:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(e.seed))
                module = build_network(e.kind, self.n_features, tuple(e.hidden), e.latent_dim)
                if self.supervised:  # the training-only softmax head on the latent
                    module.head = nn.Linear(e.latent_dim, len(e.classes_))
            self.modules.append(module.to(device))
            self.gens.append(torch.Generator(device=device).manual_seed(int(e.seed)))
            self.codes_t.append(None if codes is None else torch.as_tensor(codes, device=device))
        # Stacked copies of every member's parameters, weights transposed to (K, in, out):
        # the layout batched matrix products (and their gradients) run fastest on.
        self.params = {
            name: torch.stack([_layout(dict(m.named_parameters())[name].detach())
                               for m in self.modules]).contiguous().requires_grad_()
            for name, _ in self.modules[0].named_parameters()
        }
        self.optimiser = _adam(list(self.params.values()), est.lr, est.weight_decay)
        self.sizes = sizes = [len(Xv) for _, Xv, _, _ in members]
        n_max = max(sizes)
        # One padded tensor of all members' rows; index n_max is an all-zero padding row.
        self.X_all = torch.zeros(K, n_max + 1, self.n_features, device=device)
        for k, (_, Xv, _, _) in enumerate(members):
            self.X_all[k, : len(Xv)] = torch.tensor(Xv, dtype=torch.float32, device=device)
        self.rows = torch.arange(K, device=device)[:, None]
        if self.supervised:  # label code and cross-entropy weight per padded row (-1, 0)
            self.codes_all = torch.full((K, n_max + 1), -1, dtype=torch.long, device=device)
            self.ce_w_all = torch.zeros(K, n_max + 1, device=device)
            for k, (_, _, codes, weights) in enumerate(members):
                self.codes_all[k, : len(codes)] = torch.as_tensor(codes, device=device)
                self.ce_w_all[k, : len(codes)] = torch.as_tensor(weights, dtype=torch.float32,
                                                                 device=device)
        self.batches = [min(int(est.batch_size), n) for n in sizes]
        # Every step is padded to the full batch size: a member's rows never shift with the
        # others'.
        self.width = int(est.batch_size)
        self.steps_per_epoch = math.ceil(sizes[0] / self.batches[0])
        self.total_steps = self.steps_per_epoch * int(est.epochs)
        self.variational = self.modules[0].variational
        # A DAE with zero Gaussian noise draws none: it is then the UAE, bit for bit.
        self.dae = est.kind in ("dae", "sae") and not (est.noise == "gaussian"
                                                       and est.noise_std == 0)
        self.ssvae = est.kind == "ssvae" and est.gamma > 0 and self.codes_t[0] is not None
        self.curves = [[] for _ in range(K)]
        self.objectives = [[] for _ in range(K)]
        self.step = 0

    def epoch(self) -> None:
        """One pass over every member's rows; appends to the loss and objective curves."""
        est, K, spe, width = self.est, self.K, self.steps_per_epoch, self.width
        idx, mask, noise, eps = _draw_epoch(est, self.sizes, self.batches, self.gens, width,
                                            spe * width, self.n_features, self.dae,
                                            self.variational, self.device)
        counts = mask.view(K, spe, width).sum(2)
        # One gather per epoch, stored step-major so that every step's batch is contiguous.
        epoch_x = self.X_all[self.rows, idx]
        if not self.dae:
            epoch_in = epoch_x
        elif est.noise == "gaussian":
            epoch_in = epoch_x + est.noise_std * noise
        else:
            epoch_in = epoch_x * noise
        noise = None  # free it before the step-major copies (memory peak on wide features)
        epoch_x, epoch_in, epoch_w = (
            _step_major(t, spe) for t in (epoch_x, epoch_in, mask[..., None]))
        rec_sum = torch.zeros(K, device=self.device)
        obj_sum = torch.zeros(K, device=self.device)
        for s in range(spe):
            cut = slice(s * width, (s + 1) * width)
            m = counts[:, s]
            eps_s = eps[:, cut] if self.variational else None
            rec, loss = self._loss(epoch_x[s], epoch_in[s], epoch_w[s][..., 0], m, idx[:, cut],
                                   eps_s)
            self.optimiser.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.optimiser.step()
            self.step += 1
            rec_sum += rec.detach() * m
            obj_sum += loss.detach() * m
        n_rows = torch.tensor(self.sizes, dtype=torch.float32, device=self.device)
        for k, (r, o) in enumerate(zip((rec_sum / n_rows).tolist(),
                                       (obj_sum / n_rows).tolist())):
            self.curves[k].append(r)
            self.objectives[k].append(o)

    def _loss(self, xb, inp, w, m, idx, eps):
        """Per-member mean reconstruction error and training objective of one step's batch
        (targets ``xb``, network input ``inp``, real-row mask ``w``, ``m`` real rows)."""
        est, params, module = self.est, self.params, self.modules[0]
        if self.variational:
            h = _apply(module.encoder.body, "encoder.body", params, inp)
            mu = _linear("encoder.mu", params, h)
            logvar = _linear("logvar", params, h)
            z = mu + eps * torch.exp(0.5 * logvar)
        else:
            z = _apply(module.encoder, "encoder", params, inp)
        recon = _apply(module.decoder, "decoder", params, z)
        sq_rows = ((recon - xb).pow(2) * w[..., None]).sum(2)
        rec = sq_rows.sum(1) / (m * self.n_features)
        if not self.variational:
            loss = rec
            if self.supervised:
                loss = loss + est.gamma * _cross_entropy(
                    _linear("head", params, z), self.codes_all[self.rows, idx],
                    self.ce_w_all[self.rows, idx], m)
            return rec, loss
        kl_rows = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(2)
        kl = (kl_rows * w).sum(1) / m
        if est.kind == "cvae":
            beta = cyclical_beta(self.step, self.total_steps, est.beta_, est.cycles, est.ramp)
        else:
            beta = est.beta_
        loss = sq_rows.sum(1) / m + beta * kl
        if self.ssvae:
            loss = loss + est.gamma * _cluster_terms(mu, idx, w, self.codes_t, loss)
        return rec, loss

    def finish(self) -> None:
        """Copy the trained weights back into each member's module and set its attributes."""
        for k, (est, _, _, _) in enumerate(self.members):
            module = self.modules[k]
            with torch.no_grad():
                for name, p in module.named_parameters():
                    p.copy_(_layout(self.params[name][k]))
            if self.supervised:  # the pipeline's classifier reads the latent; the head goes
                del module.head
            module.eval()
            est.module_ = module
            est.encoder_ = module.encoder
            est.loss_curve_ = self.curves[k]
            est.objective_curve_ = self.objectives[k]
            est.n_parameters_ = count_parameters(module)


def _draw_epoch(est, sizes, batches, gens, width, span, n_features, dae, variational, device):
    """Each member's epoch, drawn from its own generator and laid out in steps of ``width``
    columns: row order (``idx``; padding points at the zero row ``max(sizes)``), real rows
    (``mask``), DAE corruption (``noise``) and VAE sampling noise (``eps``)."""
    K, n_max = len(sizes), max(sizes)
    idx = torch.full((K, span), n_max, dtype=torch.long, device=device)
    mask = torch.zeros(K, span, device=device)
    noise = torch.zeros(K, span, n_features, device=device) if dae else None
    eps = torch.zeros(K, span, est.latent_dim, device=device) if variational else None
    for k, (n, b, g) in enumerate(zip(sizes, batches, gens)):
        # member k's step s holds its rows s*b .. s*b+b-1 at columns s*width ..
        cols = (torch.arange(n, device=device) // b) * width + torch.arange(n, device=device) % b
        idx[k, cols] = torch.randperm(n, generator=g, device=device)
        mask[k, cols] = 1.0
        if dae:
            noise[k, cols] = _draw(est, (n, n_features), g, device)
        if variational:
            eps[k, cols] = torch.randn((n, est.latent_dim), generator=g, device=device)
    return idx, mask, noise, eps


def _draw(est, shape, gen: torch.Generator, device) -> torch.Tensor:
    """DAE corruption of one member's epoch: additive N(0, 1) noise or a keep-mask."""
    if est.noise == "gaussian":
        return torch.randn(shape, generator=gen, device=device)
    return (torch.rand(shape, generator=gen, device=device) >= est.mask_rate).float()


def _cross_entropy(logits: torch.Tensor, codes: torch.Tensor, weights: torch.Tensor,
                   m: torch.Tensor) -> torch.Tensor:
    """Weighted cross-entropy of each member's batch (K, width, classes), summed over its
    labelled rows and divided by its real rows ``m`` (so it scales like the batch mean)."""
    K, width, n_classes = logits.shape
    ce = nn.functional.cross_entropy(logits.reshape(-1, n_classes), codes.clamp(min=0).reshape(-1),
                                     reduction="none").view(K, width)
    return (ce * weights).sum(1) / m


def _cluster_terms(mu: torch.Tensor, idx: torch.Tensor, w: torch.Tensor, codes_t,
                   like: torch.Tensor) -> torch.Tensor:
    """Cluster loss of each member on the labelled rows of its batch (0 with < 2 rows)."""
    terms = []
    for k, codes in enumerate(codes_t):
        real = w[k] > 0
        cb = codes[idx[k][real]]
        lab = cb >= 0
        if int(lab.sum()) > 1:
            terms.append(cluster_loss(mu[k][real][lab], cb[lab]))
        else:
            terms.append(like.new_zeros(()))
    return torch.stack(terms)
