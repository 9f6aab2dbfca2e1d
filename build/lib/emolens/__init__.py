"""emolens: small, transparent and transferable speech emotion recognition."""

__version__ = "0.1.0"

#: The four classes of the paper, in the order used for probabilities and confusion matrices.
LABELS = ("neutral", "happy", "sad", "angry")
