from inventory.parsing import load_csv
from inventory.report import summary
from inventory.stock import Stock

EXPORT = """sku,name,quantity,price
W-100,Widget,3,$19.99
G-200,Gadget,1,$4.35
S-300,Sprocket,12,$0.50
"""


def test_summary_lists_items_sorted_by_sku():
    lines = summary(Stock(load_csv(EXPORT))).splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["G-200", "S-300", "W-100"]


def test_summary_total_matches_export():
    report = summary(Stock(load_csv(EXPORT)))
    # 3 x 19.99 + 1 x 4.35 + 12 x 0.50
    assert "Total: $70.32" in report.splitlines()


def test_summary_flags_low_stock():
    report = summary(Stock(load_csv(EXPORT)), low_threshold=1)
    assert report.splitlines()[-1] == "Low stock: G-200"
