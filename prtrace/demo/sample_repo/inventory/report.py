"""The valuation report the shop prints at closing time."""

from inventory.models import format_cents
from inventory.stock import Stock


def summary(stock: Stock, low_threshold: int = 2) -> str:
    lines = []
    for item in stock.items():
        lines.append(
            f"{item.sku:<8} {item.name:<20} {item.quantity:>5} x "
            f"{format_cents(item.unit_price_cents):>9} = {format_cents(item.value_cents):>10}"
        )
    lines.append(f"Total: {format_cents(stock.total_value_cents())}")
    low = stock.low_stock(low_threshold)
    if low:
        lines.append("Low stock: " + ", ".join(item.sku for item in low))
    return "\n".join(lines)
