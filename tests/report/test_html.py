"""HTML building blocks of the report."""

import pandas as pd

from emolens.report import html as H


def test_confusion_tables_show_row_shares_and_counts():
    cm = pd.DataFrame([[3, 1], [0, 4]], index=["neutral", "angry"], columns=["neutral", "angry"])
    out = H.confusion_tables({"svc → emodb": cm, "<x>": cm}, "caption & more")
    assert out.count('<table class="cm">') == 2
    assert "75%<br><small>3</small>" in out and "0%<br><small>0</small>" in out
    assert "rgba(0,114,178,1.00)" in out and "rgba(0,114,178,0.25)" in out
    assert "&lt;x&gt;" in out and "caption &amp; more" in out
