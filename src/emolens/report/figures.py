"""Figures of the report (matplotlib, Agg backend, colour-blind-safe Okabe-Ito palette).

Every function returns a ``matplotlib.figure.Figure``; :func:`save` writes it as PNG and
:func:`to_png` returns the PNG bytes for embedding. Emotions keep the same colour and marker
everywhere (neutral grey circle, happy orange square, sad blue triangle, angry vermillion
diamond), so colour is never the only cue.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import gaussian_kde  # noqa: E402

from emolens import LABELS  # noqa: E402
from emolens.palette import (  # noqa: E402,F401  (re-exported for the figures' callers)
    EMOTION_COLORS,
    EMOTION_MARKERS,
    OKABE_ITO,
    SERIES_COLORS,
    emotion_color,
)

plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
                     "figure.dpi": 100, "savefig.dpi": 110, "axes.spines.top": False,
                     "axes.spines.right": False})


def _emotion_order(values) -> list[str]:
    present = list(pd.unique(pd.Series(values).astype(str)))
    return [e for e in LABELS if e in present] + sorted(e for e in present if e not in LABELS)


def to_png(fig) -> bytes:
    """PNG bytes of ``fig`` (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_png(fig))
    return path


def tsne_2d(Z, random_state: int = 0, max_samples: int | None = 3000) -> np.ndarray:
    """2-D t-SNE picture of a latent with more than two dimensions (for drawing only).

    Args:
        Z: latent ``(n, k)``.
        random_state: seed.
        max_samples: raise if more rows (t-SNE is slow); subsample before calling.

    Returns:
        ``(n, 2)`` embedding.
    """
    from sklearn.manifold import TSNE

    Z = np.asarray(Z, dtype=float)
    if max_samples is not None and len(Z) > max_samples:
        raise ValueError(f"t-SNE on {len(Z)} samples is slow; subsample to {max_samples}")
    perplexity = float(min(30.0, max(2.0, (len(Z) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca",
                random_state=random_state).fit_transform(Z)


def latent_grid(data: pd.DataFrame, x: str = "z1", y: str = "z2", corpus: str = "corpus",
                emotion: str = "emotion", ncols: int = 3, xlabel: str | None = None,
                ylabel: str | None = None, max_points: int = 1500, random_state: int = 0,
                axes: str = "shared"):
    """The paper's latent figure: per corpus a scatter coloured by emotion with marginal
    density curves per emotion on both axes.

    Args:
        data: one row per sample with the two coordinates, corpus and emotion.
        x, y: coordinate columns.
        corpus, emotion: label columns.
        ncols: corpora per row.
        xlabel, ylabel: axis labels (default: the column names).
        max_points: points drawn per corpus (densities use all points).
        random_state: seed of the drawing subsample.
        axes: ``"shared"`` (every corpus on the same axes: shows shifts between corpora) or
            ``"own"`` (each corpus on its own limits: no outlier squeezes a cloud).
    """
    if axes not in ("shared", "own"):
        raise ValueError(f"axes must be 'shared' or 'own', got {axes!r}")
    for c in (x, y, corpus, emotion):
        if c not in data.columns:
            raise ValueError(f"latent figure needs column {c!r}")
    corpora = list(pd.unique(data[corpus].astype(str)))
    emotions = _emotion_order(data[emotion])
    limits = _padded_limits(data[x], data[y])
    ncols = max(1, min(ncols, len(corpora)))
    nrows = int(np.ceil(len(corpora) / ncols))
    height = 3.6 * nrows + 0.5
    fig = plt.figure(figsize=(3.6 * ncols, height))
    # explicit margins: the default top (0.88 of the height) left an empty band above the
    # first row of a tall grid; the legend takes the top 0.4 inch
    outer = fig.add_gridspec(nrows, ncols, wspace=0.35, hspace=0.45, left=0.08, right=0.98,
                             top=1 - 0.45 / height, bottom=0.45 / height)
    rng = np.random.default_rng(random_state)
    for i, c in enumerate(corpora):
        part = data[data[corpus].astype(str) == c]
        _density_scatter(fig, outer[i // ncols, i % ncols], part, x, y, emotion, emotions,
                         limits if axes == "shared" else _padded_limits(part[x], part[y]),
                         max_points, rng, (xlabel or x, ylabel or y, f"{c} (n = {len(part)})"))
    handles = [plt.Line2D([], [], color=emotion_color(e), marker=EMOTION_MARKERS.get(e, "o"),
                          linestyle="", markersize=6, label=e) for e in emotions]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    return fig


def _padded_limits(xs, ys, pad: float = 0.05) -> tuple[tuple[float, float], ...]:
    """``(xlim, ylim)`` spanning the values with ``pad`` of their range on each side."""
    out = []
    for v in (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)):
        margin = pad * np.ptp(v) or 1.0
        out.append((np.nanmin(v) - margin, np.nanmax(v) + margin))
    return tuple(out)


def _density_scatter(fig, cell, part: pd.DataFrame, x: str, y: str, emotion: str, emotions,
                     limits, max_points: int, rng, labels) -> None:
    """One corpus in ``cell``: a scatter coloured by emotion (at most ``max_points`` per
    emotion drawn) with each emotion's density above and to the right; ``labels``: x label,
    y label, title."""
    xlim, ylim = limits
    sub = cell.subgridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.05,
                           hspace=0.05)
    ax = fig.add_subplot(sub[1, 0])
    top = fig.add_subplot(sub[0, 0], sharex=ax)
    right = fig.add_subplot(sub[1, 1], sharey=ax)
    gx, gy = np.linspace(*xlim, 200), np.linspace(*ylim, 200)
    for e in emotions:
        pe = part[part[emotion].astype(str) == e]
        if pe.empty:
            continue
        draw = pe if len(pe) <= max_points else pe.iloc[rng.choice(len(pe), max_points,
                                                                    replace=False)]
        ax.scatter(draw[x], draw[y], s=10, alpha=0.6, color=emotion_color(e),
                   marker=EMOTION_MARKERS.get(e, "o"), linewidths=0, label=e)
        for vals, grid, axis, vertical in ((pe[x], gx, top, False), (pe[y], gy, right, True)):
            vals = vals.to_numpy(float)
            if len(vals) < 3 or np.ptp(vals) == 0:
                continue
            dens = gaussian_kde(vals)(grid)
            if vertical:
                axis.plot(dens, grid, color=emotion_color(e), lw=1.3)
            else:
                axis.plot(grid, dens, color=emotion_color(e), lw=1.3)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    top.set_title(labels[2])
    for axis in (top, right):
        axis.tick_params(labelbottom=False, labelleft=False, bottom=False, left=False)
        for side in ("top", "right", "bottom", "left"):
            axis.spines[side].set_visible(False)


def squeezed_corpora(data: pd.DataFrame, x: str = "z1", y: str = "z2",
                     corpus: str = "corpus", ratio: float = 0.25) -> list[str]:
    """Corpora whose central 98 % of points spans less than ``ratio`` of the shared axis
    range on both axes (an outlier elsewhere squeezes their cloud on shared axes)."""
    xs, ys = data[x].to_numpy(float), data[y].to_numpy(float)
    wx, wy = np.ptp(xs) or 1.0, np.ptp(ys) or 1.0
    out = []
    for c, part in data.groupby(data[corpus].astype(str), sort=False):
        qx = np.subtract(*np.nanquantile(part[x], [0.99, 0.01]))
        qy = np.subtract(*np.nanquantile(part[y], [0.99, 0.01]))
        if qx < ratio * wx and qy < ratio * wy:
            out.append(str(c))
    return out


def separation_boxplot(separations: pd.DataFrame, variables: Sequence[str] | None = None):
    """Bhattacharyya separation per emotion pair: boxes over folds for each variable.

    Args:
        separations: rows of :func:`emolens.interpret.pair_separations` for several folds
            (``pair, variable, separation``).
        variables: order of the variables (default: latent dimensions, then activation,
            valence).
    """
    pairs = list(pd.unique(separations["pair"]))
    if variables is None:
        found = list(pd.unique(separations["variable"]))
        refs = [v for v in ("activation", "valence") if v in found]
        variables = [v for v in found if v not in refs] + refs
    width = 0.8 / len(variables)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(pairs) + 2), 3.6))
    for k, var in enumerate(variables):
        data = [separations.loc[(separations["pair"] == p) & (separations["variable"] == var),
                                "separation"].dropna().to_numpy() for p in pairs]
        pos = np.arange(len(pairs)) - 0.4 + width * (k + 0.5)
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        keep = [i for i, d in enumerate(data) if len(d)]
        if not keep:
            continue
        ax.boxplot([data[i] for i in keep], positions=pos[keep], widths=width * 0.85,
                   patch_artist=True, manage_ticks=False,
                   boxprops={"facecolor": color, "alpha": 0.75, "edgecolor": "black"},
                   medianprops={"color": "black"}, flierprops={"markersize": 3},
                   # the mean marker keeps boxes of constant values (categorical
                   # activation, fixed test sets) visible in their colour
                   showmeans=True, meanprops={"marker": "o", "markerfacecolor": color,
                                              "markeredgecolor": "black", "markersize": 5})
        ax.plot([], [], color=color, lw=8, alpha=0.75, label=var)
    ax.plot([], [], "o", markerfacecolor="white", markeredgecolor="black", label="mean")
    ax.set_xticks(range(len(pairs)), pairs)
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel("Bhattacharyya separation (1 − BC)")
    ax.set_title("How far apart each emotion pair lies along each latent dimension, "
                 "activation and valence")
    ax.legend(frameon=False, ncol=len(variables) + 1, loc="upper center",
              bbox_to_anchor=(0.5, -0.12))
    fig.tight_layout()
    return fig


def correlation_heatmap(groups: pd.DataFrame, order: Sequence[str] | None = None):
    """Spearman ρ of each latent dimension with activation, valence and feature groups.

    Args:
        groups: :func:`emolens.interpret.group_correlations` output
            (``dimension, group, rho, p_fdr``).
        order: row order of the groups (default: activation, valence, then as found).
    """
    wide = groups.pivot_table(index="group", columns="dimension", values="rho", sort=False)
    pw = groups.pivot_table(index="group", columns="dimension", values="p_fdr", sort=False)
    if order is None:
        refs = [g for g in ("activation", "valence") if g in wide.index]
        order = refs + [g for g in wide.index if g not in refs]
    wide, pw = wide.reindex(order), pw.reindex(order)
    fig, ax = plt.subplots(figsize=(1.2 * wide.shape[1] + 3.2, 0.26 * len(wide) + 1.2))
    im = ax.imshow(wide.to_numpy(float), cmap="PuOr_r", vmin=-1, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(wide.to_numpy(float)):
        if np.isfinite(v):
            star = "*" if pw.iloc[i, j] < 0.05 else ""
            ax.text(j, i, f"{v:.2f}{star}", ha="center", va="center", fontsize=7,
                    color="white" if abs(v) > 0.6 else "black")
    ax.set_xticks(range(wide.shape[1]), list(wide.columns))
    ax.set_yticks(range(len(wide)), list(wide.index))
    ax.spines[:].set_visible(False)
    ax.set_title("Spearman ρ (* FDR p < 0.05)")
    fig.colorbar(im, ax=ax, shrink=0.6, label="ρ")
    fig.tight_layout()
    return fig


def attribution_violins(
    long: pd.DataFrame,
    groups: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
    value: str = "attribution",
):
    """Split violins of DeepLIFT attributions per feature group, one panel per emotion.

    Feature groups run down the y axis; the upper half of each violin is the first latent
    dimension, the lower half the second (for larger latents the first two are drawn).

    Args:
        long: columns ``emotion, dimension, group`` and ``value``.
        groups: group order (default: by median |attribution|, largest first).
        dimensions: the two dimensions forming the halves.
        value: value column.
    """
    dims = list(dimensions) if dimensions is not None else list(pd.unique(long["dimension"]))[:2]
    emotions = _emotion_order(long["emotion"])
    if groups is None:
        groups = (long.assign(a=long[value].abs()).groupby("group")["a"].mean()
                  .sort_values(ascending=False).index.tolist())
    groups = list(groups)
    fig, axes = plt.subplots(1, len(emotions), figsize=(2.7 * len(emotions) + 2.2,
                                                        0.3 * len(groups) + 1.4),
                             sharey=True, squeeze=False)
    pos = np.arange(len(groups))[::-1]  # first group on top
    for ax, e in zip(axes[0], emotions):
        sub = long[long["emotion"] == e]
        for k, (d, side) in enumerate(zip(dims, ("high", "low"))):
            data, where = [], []
            for g, p in zip(groups, pos):
                v = sub.loc[(sub["group"] == g) & (sub["dimension"] == d), value].to_numpy(float)
                if len(v) >= 2 and np.ptp(v) > 0:
                    data.append(v)
                    where.append(p)
                elif len(v):
                    ax.plot([v.mean()], [p + (0.15 if side == "high" else -0.15)], "|",
                            color=SERIES_COLORS[k], markersize=6)
            if data:
                parts = ax.violinplot(data, positions=where, orientation="horizontal",
                                      side=side, widths=0.9, showextrema=False,
                                      showmedians=True)
                for body in parts["bodies"]:
                    body.set_facecolor(SERIES_COLORS[k])
                    body.set_edgecolor("black")
                    body.set_linewidth(0.4)
                    body.set_alpha(0.8)
                parts["cmedians"].set_color("black")
                parts["cmedians"].set_linewidth(0.8)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(f"{e} (n = {sub['sample'].nunique() if 'sample' in sub else len(sub)})",
                     color=emotion_color(e) if e != "neutral" else "black")
        ax.set_xlabel("attribution")
        ax.grid(axis="y", color="#dddddd", lw=0.5)
    axes[0, 0].set_yticks(pos, groups)
    axes[0, 0].set_ylim(-0.7, len(groups) - 0.3)
    handles = [plt.Line2D([], [], color=SERIES_COLORS[k], lw=8, label=f"{d} ({half} half)")
               for k, (d, half) in enumerate(zip(dims, ("upper", "lower")))]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.55, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (0.3 * len(groups) + 1.4)))
    return fig


def importance_bars(
    table: pd.DataFrame,
    panel: str = "test",
    group: str = "group",
    value: str = "importance",
    xlabel: str = "drop of UA when the group is permuted",
    top: int | None = 15,
    legend: Sequence[str] | None = ("mean drop (the group matters)",
                                    "mean gain (permuting helps)", "± 1 sd"),
):
    """Horizontal bars of mean importance per group with ±1 sd error bars, one panel each.

    Args:
        table: rows with ``panel``, ``group`` and ``value`` (several rows per group, e.g.
            seeds x folds x repeats; the spread is their standard deviation).
        panel: column defining the panels (e.g. test corpus or predicted emotion).
        top: groups shown per panel (largest mean |value|).
        legend: labels of the positive bars, the negative bars and the error bars (None:
            no legend).
    """
    panels = list(pd.unique(table[panel].astype(str)))
    # at most 3 panels a row (4 as 2 x 2): wider rows shrink the labels below reading size
    ncols = max(1, min(2 if len(panels) == 4 else 3, len(panels)))
    nrows = int(np.ceil(len(panels) / ncols))
    n_show = top or table[group].nunique()
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols + 1.2,
                                                    (0.26 * n_show + 1.2) * nrows),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, panels):
        stats = (table[table[panel].astype(str) == p].groupby(group)[value]
                 .agg(["mean", "std"]).fillna({"std": 0.0}))
        stats = stats.reindex(stats["mean"].abs().sort_values(ascending=False).index)
        if top:
            stats = stats.head(top)
        y = np.arange(len(stats))[::-1]
        colors = [OKABE_ITO["blue"] if m >= 0 else OKABE_ITO["vermillion"]
                  for m in stats["mean"]]
        ax.barh(y, stats["mean"], xerr=stats["std"], color=colors, alpha=0.85,
                error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_yticks(y, stats.index)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(p)
        ax.set_xlabel(xlabel)
    if legend:
        handles = [plt.Rectangle((0, 0), 1, 1, color=OKABE_ITO["blue"], alpha=0.85,
                                 label=legend[0]),
                   plt.Rectangle((0, 0), 1, 1, color=OKABE_ITO["vermillion"], alpha=0.85,
                                 label=legend[1]),
                   plt.Line2D([], [], color="black", lw=0.8, marker="|", markersize=6,
                              label=legend[2])]
        fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False,
                   bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    else:
        fig.tight_layout()
    return fig


def shift_arrows(positions: pd.DataFrame, x: str = "z1", y: str = "z2",
                 targets: Sequence[str] = ("angry", "sad", "happy"),
                 highlight: Sequence[str] = (), reference: str = "neutral",
                 xlabel: str | None = None, ylabel: str | None = None):
    """Emotion shifts as arrows in the latent plane: one panel per target emotion, one arrow
    per corpus from its ``reference`` mean to its target mean, every panel on the same axes.

    Args:
        positions: ``corpus, emotion`` and the two coordinate columns (one row each).
        x, y: coordinate columns.
        targets: emotions, one panel each.
        highlight: corpora drawn with thick arrows and bold names (the training corpora).
        reference: the emotion the arrows start from.
    """
    pos = positions.set_index(["corpus", "emotion"])[[x, y]]
    corpora = list(pd.unique(positions["corpus"].astype(str)))
    targets = [t for t in targets if (positions["emotion"] == t).any()]
    cmap = plt.get_cmap("tab10" if len(corpora) <= 10 else "tab20")
    colour = {c: cmap(i % cmap.N) for i, c in enumerate(corpora)}
    fig, axes = plt.subplots(1, max(1, len(targets)), figsize=(4.0 * max(1, len(targets)),
                                                                4.4),
                             sharex=True, sharey=True, squeeze=False)
    pts = positions[[x, y]].to_numpy(float)
    span = np.ptp(pts, axis=0) + 1e-9
    for ax, t in zip(axes[0], targets):
        heads = []
        for c in corpora:
            if (c, reference) not in pos.index or (c, t) not in pos.index:
                continue
            (x0, y0), (x1, y1) = pos.loc[(c, reference)], pos.loc[(c, t)]
            bold = c in highlight
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops={"arrowstyle": "-|>", "lw": 2.6 if bold else 1.3,
                                    "color": colour[c], "alpha": 0.9, "shrinkA": 0,
                                    "shrinkB": 0})
            ax.plot([x0], [y0], "o", color=colour[c], markersize=3.5)
            heads.append((c, x1, y1, bold))
        for c, x1, y1, bold in heads:  # a name only where no other head is close
            crowded = any(o != c and abs(x1 - ox) < 0.08 * span[0]
                          and abs(y1 - oy) < 0.05 * span[1] for o, ox, oy, _ in heads)
            if not crowded:
                ax.text(x1, y1, f" {c}", fontsize=7, va="center",
                        fontweight="bold" if bold else "normal")
        ax.set_title(f"{reference} → {t}", color=emotion_color(t))
        ax.set_xlim(pts[:, 0].min() - 0.08 * span[0], pts[:, 0].max() + 0.2 * span[0])
        ax.set_ylim(pts[:, 1].min() - 0.08 * span[1], pts[:, 1].max() + 0.08 * span[1])
        ax.set_xlabel(xlabel or x)
        ax.grid(color="#eeeeee", lw=0.5)
    axes[0, 0].set_ylabel(ylabel or y)
    handles = [plt.Line2D([], [], color=colour[c], lw=2.6 if c in highlight else 1.3,
                          label=f"{c} (train)" if c in highlight else c) for c in corpora]
    fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)),
               frameon=False, fontsize=7.5, bbox_to_anchor=(0.5, 0.0))
    rows = int(np.ceil(len(handles) / 6))
    fig.tight_layout(rect=(0, (0.22 * rows + 0.1) / 4.4, 1, 1))
    return fig


def angle_heatmaps(matrices: Mapping[str, pd.DataFrame], annotate_max: int = 14):
    """Corpus x corpus heatmaps of the angle between the same emotion shift, one per emotion.

    Args:
        matrices: emotion -> square DataFrame of angles in degrees
            (:func:`emolens.report.per_corpus.angle_matrix`).
        annotate_max: write the angle in the cells up to this many corpora.
    """
    items = [(e, m) for e, m in matrices.items() if not m.empty]
    n = max((len(m) for _, m in items), default=1)
    side = max(2.6, 0.34 * n + 1.2)
    fig, axes = plt.subplots(1, max(1, len(items)), figsize=(side * max(1, len(items)) + 2.0,
                                                             side),
                             squeeze=False, gridspec_kw={"wspace": 0.08})
    im = None
    for ax, (e, m) in zip(axes[0], items):
        vals = m.to_numpy(float)
        im = ax.imshow(np.ma.masked_invalid(vals), cmap="magma_r", vmin=0, vmax=180)
        if len(m) <= annotate_max:
            for (i, j), v in np.ndenumerate(vals):
                if np.isfinite(v) and i != j:
                    ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6.5,
                            color=_text_color(im, v))
        ax.set_xticks(range(len(m)), list(m.columns), rotation=90, fontsize=7)
        # every panel has the same corpus order: names on the first panel only
        ax.set_yticks(range(len(m)), list(m.index) if ax is axes[0, 0] else [], fontsize=7)
        ax.spines[:].set_visible(False)
        ax.set_title(f"neutral → {e}", color=emotion_color(e))
    if im is not None:
        fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="angle between shifts (°)")
    return fig


def _text_color(im, value: float) -> str:
    """Black or white, whichever reads better on the cell colour of ``value``."""
    if not np.isfinite(value):
        return "black"
    r, g, b, _ = im.cmap(im.norm(value))
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "black"


def corpus_heatmap(wide: pd.DataFrame, title: str, label: str, vmin: float, vmax: float,
                   cmap: str = "PuOr_r", text: pd.DataFrame | None = None,
                   fmt: str = "{:.2f}"):
    """A compact corpus (rows) x statistic (columns) heatmap with the values written in.

    Args:
        wide: numbers, corpora as index.
        title, label: figure title and colour-bar label.
        vmin, vmax, cmap: colour scale.
        text: optional strings to write instead of the numbers (same shape).
        fmt: number format when ``text`` is None.
    """
    vals = wide.to_numpy(float)
    fig, ax = plt.subplots(figsize=(0.95 * wide.shape[1] + 2.8,
                                    max(2.4, 0.28 * len(wide) + 1.3)))
    im = ax.imshow(np.ma.masked_invalid(vals), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(vals):
        s = text.iloc[i, j] if text is not None else (fmt.format(v) if np.isfinite(v) else "")
        if s:
            ax.text(j, i, s, ha="center", va="center", fontsize=7,
                    color=_text_color(im, v))
    ax.set_xticks(range(wide.shape[1]), list(wide.columns), rotation=30, ha="right")
    ax.set_yticks(range(len(wide)), list(wide.index))
    ax.spines[:].set_visible(False)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8, label=label)
    fig.tight_layout()
    return fig
