"""emolens.report."""
