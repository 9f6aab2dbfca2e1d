"""emolens.corpora."""
