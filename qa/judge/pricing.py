"""What a judgement costs: a price table in USD per million tokens (input, output).

The built-in table covers a few hosted models (list prices when written —
check your provider); ``PRTRACE_JUDGE_PRICES`` adds or overrides entries as
``model=input/output`` pairs separated by commas, e.g.
``gpt-4o-mini=0.15/0.60,llama3.1:8b=0/0``. A model is matched exactly, else
by the longest table entry its name starts with (``gpt-4o-mini-2024-07-18`` →
``gpt-4o-mini``). An unknown model has no cost (``null``), not a guessed one.
"""

from __future__ import annotations

BUILTIN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


class PriceError(ValueError):
    pass


def parse_prices(text: str) -> dict[str, tuple[float, float]]:
    """``model=in/out,…`` → ``{model: (in, out)}``."""
    table: dict[str, tuple[float, float]] = {}
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        model, sep, prices = item.rpartition("=")
        inp, slash, out = prices.partition("/")
        try:
            if not sep or not slash or not model.strip():
                raise ValueError
            table[model.strip()] = (float(inp), float(out))
        except ValueError:
            raise PriceError(
                f"judge price {item!r}: expected model=input/output (USD per 1M tokens)"
            ) from None
    return table


def price_table(extra: str = "") -> dict[str, tuple[float, float]]:
    return {**BUILTIN_PRICES, **parse_prices(extra)}


def cost_usd(
    model: str, prompt_tokens: int, completion_tokens: int, table: dict[str, tuple[float, float]]
) -> float | None:
    prices = table.get(model)
    if prices is None:
        prefixes = [name for name in table if model.startswith(name)]
        if not prefixes:
            return None
        prices = table[max(prefixes, key=len)]
    return round((prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000, 6)
