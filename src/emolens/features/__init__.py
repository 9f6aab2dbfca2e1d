"""emolens.features."""
