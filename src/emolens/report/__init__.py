"""emolens.report: figures and one self-contained ``report.html`` per results directory."""

from emolens.report.build import ReportError, ReportOptions, build_report

__all__ = ["ReportError", "ReportOptions", "build_report"]
