"""emolens.interpret."""
