"""Properties of price handling: CSV prices convert exactly, and the most specific
channel/store price always wins whatever else is set."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centers.product.dto import SkuPriceInfo
from centers.product.service.catalog import pick_price
from centers.product.service.csv_import import RowError, _price
from kernel.money import Money

SKU = uuid.uuid4()
STORES = [uuid.UUID(int=i) for i in range(1, 4)]
CHANNELS = ["pos", "meituan", "app"]


@settings(max_examples=50, deadline=None)
@given(fen=st.integers(min_value=0, max_value=1_000_000_000))
def test_two_decimal_prices_convert_to_exact_fen(fen: int) -> None:
    yuan = Decimal(fen) / 100
    assert _price(str(yuan)) == fen
    assert _price(f"{yuan:.2f}") == fen


@settings(max_examples=50, deadline=None)
@given(
    fen=st.integers(min_value=0, max_value=10_000_000), extra=st.integers(min_value=1, max_value=9)
)
def test_a_third_decimal_is_refused(fen: int, extra: int) -> None:
    with pytest.raises(RowError):
        _price(f"{fen // 100}.{fen % 100:02d}{extra}")


scopes = st.tuples(st.sampled_from([None, *CHANNELS]), st.sampled_from([None, *STORES]))


@settings(max_examples=50, deadline=None)
@given(
    prices=st.dictionaries(
        scopes.filter(lambda s: s != (None, None)),
        st.integers(min_value=0, max_value=99_999),
        max_size=12,
    ),
    channel=st.sampled_from([None, *CHANNELS]),
    store=st.sampled_from([None, *STORES]),
)
def test_the_most_specific_applicable_price_wins(
    prices: dict[tuple[str | None, uuid.UUID | None], int],
    channel: str | None,
    store: uuid.UUID | None,
) -> None:
    overrides = [SkuPriceInfo(SKU, c, s, Money(a, "CNY")) for (c, s), a in prices.items()]
    found = pick_price(Money(100_000, "CNY"), overrides, channel, store)
    for key in ((channel, store), (None, store), (channel, None)):
        if key in prices and key != (None, None):
            assert found.amount == prices[key]
            break
    else:
        assert found.amount == 100_000  # nothing applies: the list price
