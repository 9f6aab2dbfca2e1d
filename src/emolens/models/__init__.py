"""emolens.models."""
