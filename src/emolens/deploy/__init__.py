"""emolens.deploy."""
