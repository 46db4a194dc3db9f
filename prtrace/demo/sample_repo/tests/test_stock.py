import pytest

from inventory.models import Item, format_cents
from inventory.stock import Stock


def test_add_same_sku_merges_quantity():
    stock = Stock([Item("A1", "Bolt", 10, 25), Item("A1", "Bolt", 5, 25)])
    assert [item.quantity for item in stock.items()] == [15]


def test_remove_more_than_stocked_fails():
    stock = Stock([Item("A1", "Bolt", 2, 25)])
    with pytest.raises(ValueError):
        stock.remove("A1", 3)


def test_low_stock_sorted_by_quantity():
    stock = Stock([Item("B", "Nut", 1, 5), Item("A", "Bolt", 1, 25), Item("C", "Gear", 9, 300)])
    assert [item.sku for item in stock.low_stock(2)] == ["A", "B"]


def test_format_cents():
    assert format_cents(123456) == "$1,234.56"
    assert format_cents(-5) == "-$0.05"
