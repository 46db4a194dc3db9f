"""The stock: items by SKU, with their quantities."""

from inventory.models import Item


class Stock:
    def __init__(self, items=()):
        self._items = {}
        for item in items:
            self.add(item)

    def add(self, item: Item) -> None:
        """Add an item; the same SKU again adds to its quantity."""
        known = self._items.get(item.sku)
        if known is None:
            self._items[item.sku] = item
            return
        if known.unit_price_cents != item.unit_price_cents:
            raise ValueError(f"{item.sku}: price changed from {known.unit_price_cents}")
        self._items[item.sku] = Item(
            known.sku, known.name, known.quantity + item.quantity, known.unit_price_cents
        )

    def remove(self, sku: str, quantity: int) -> None:
        known = self._items[sku]
        if quantity > known.quantity:
            raise ValueError(f"{sku}: only {known.quantity} in stock")
        self._items[sku] = Item(
            known.sku, known.name, known.quantity - quantity, known.unit_price_cents
        )

    def items(self) -> list:
        return sorted(self._items.values(), key=lambda item: item.sku)

    def total_value_cents(self) -> int:
        return sum(item.value_cents for item in self._items.values())

    def low_stock(self, threshold: int) -> list:
        """Items with at most ``threshold`` units left, fewest first."""
        low = [item for item in self._items.values() if item.quantity <= threshold]
        return sorted(low, key=lambda item: (item.quantity, item.sku))
