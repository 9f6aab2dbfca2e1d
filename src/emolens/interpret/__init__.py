"""emolens.interpret: latent statistics, physical interpretation and attribution.

All functions work on plain arrays / DataFrames, so they can be used on any latent, not only
on a results directory (``emolens.report.build_report`` wires them to one).
"""

from emolens.interpret.attribution import (
    aggregate_groups,
    group_ablation,
    group_occlusion,
    grouped_permutation_importance,
    groups_for_columns,
    latent_deeplift,
)
from emolens.interpret.latent_stats import (
    corpus_emotion_summary,
    emotion_means,
    emotion_shifts,
    eta_squared,
    kmeans_ami,
    knn_predictability,
    shift_angles,
    silhouette_by,
)
from emolens.interpret.physical import (
    bhattacharyya_distance,
    bhattacharyya_separation,
    dimension_verdicts,
    group_correlations,
    max_abs_rho_by,
    pair_separations,
    separation_agreement,
    spearman_table,
)

__all__ = [
    "aggregate_groups",
    "bhattacharyya_distance",
    "bhattacharyya_separation",
    "corpus_emotion_summary",
    "dimension_verdicts",
    "emotion_means",
    "emotion_shifts",
    "eta_squared",
    "group_ablation",
    "group_correlations",
    "group_occlusion",
    "grouped_permutation_importance",
    "groups_for_columns",
    "kmeans_ami",
    "knn_predictability",
    "latent_deeplift",
    "max_abs_rho_by",
    "pair_separations",
    "separation_agreement",
    "shift_angles",
    "silhouette_by",
    "spearman_table",
]
