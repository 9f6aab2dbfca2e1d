"""The top of a quick experiment TOML over the synthetic corpora, shared by runner tests.

Transfer protocol, 2 speaker folds, seed 0, speaker statistics, no bootstrap, no saved models,
no report; ``{CACHE}`` stands for the feature cache. A test file adds ``name = ...`` before it
and its own tables after it.
"""

QUICK_RUN = """protocol = "transfer"
folds = 2
seeds = [0]
normalisation = "speaker"
cache_dir = "{CACHE}"
bootstrap = 0
save_models = false
[report]
enabled = false
"""
