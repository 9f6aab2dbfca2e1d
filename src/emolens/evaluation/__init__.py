"""emolens.evaluation."""
