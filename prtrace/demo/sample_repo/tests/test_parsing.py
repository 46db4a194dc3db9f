import pytest

from inventory.parsing import load_csv, parse_price, parse_quantity


def test_parse_quantity_with_thousands_separator():
    assert parse_quantity(" 1,200 ") == 1200


def test_parse_quantity_rejects_negative():
    with pytest.raises(ValueError):
        parse_quantity("-3")


def test_parse_price_dollars_and_cents():
    assert parse_price("$1,234.50") == 123450
    assert parse_price("7") == 700


def test_parse_price_rejects_empty():
    with pytest.raises(ValueError):
        parse_price(" $ ")


def test_load_csv_skips_blank_lines():
    items = load_csv("sku,name,quantity,price\nA1,Bolt,10,$0.25\n,,,\n")
    assert [(item.sku, item.quantity, item.unit_price_cents) for item in items] == [("A1", 10, 25)]
