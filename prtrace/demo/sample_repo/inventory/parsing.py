"""Reading the CSV export of the shop's point-of-sale system."""

import csv
import io

from inventory.models import Item

REQUIRED_COLUMNS = ("sku", "name", "quantity", "price")


def parse_quantity(text: str) -> int:
    """'1,200' -> 1200. Quantities are whole units and never negative."""
    cleaned = text.strip().replace(",", "")
    if not cleaned.isdigit():
        raise ValueError(f"bad quantity: {text!r}")
    return int(cleaned)


def parse_price(text: str) -> int:
    """'$1,234.50' -> 123450 cents."""
    cleaned = text.strip().lstrip("$").replace(",", "")
    if not cleaned:
        raise ValueError(f"bad price: {text!r}")
    return int(float(cleaned) * 100)


def parse_row(row: dict) -> Item:
    missing = [name for name in REQUIRED_COLUMNS if not row.get(name)]
    if missing:
        raise ValueError(f"row {row!r} lacks {', '.join(missing)}")
    return Item(
        sku=row["sku"].strip(),
        name=row["name"].strip(),
        quantity=parse_quantity(row["quantity"]),
        unit_price_cents=parse_price(row["price"]),
    )


def load_csv(text: str) -> list:
    """Parse a whole export; blank lines are skipped."""
    reader = csv.DictReader(io.StringIO(text))
    return [parse_row(row) for row in reader if any((value or "").strip() for value in row.values())]
