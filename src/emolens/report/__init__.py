"""emolens.report: figures and one self-contained ``report.html`` per results directory."""

from typing import TYPE_CHECKING

from emolens._lazy import lazy_exports

if TYPE_CHECKING:  # static tools see the real imports
    from emolens.report.analyses import ReportOptions
    from emolens.report.build import ReportError, build_report

# Loaded on first use (`emolens --help` must not import pandas/sklearn/torch): the
# names are the TYPE_CHECKING imports above.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
