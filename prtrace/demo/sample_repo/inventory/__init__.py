"""Stock keeping: items, CSV import and valuation reports."""

from inventory.models import Item, format_cents
from inventory.parsing import load_csv, parse_price, parse_quantity
from inventory.report import summary
from inventory.stock import Stock

__all__ = ["Item", "Stock", "format_cents", "load_csv", "parse_price", "parse_quantity", "summary"]
