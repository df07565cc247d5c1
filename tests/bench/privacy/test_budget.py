import math

import pytest

from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget, format_epsilon, parse_epsilons


@pytest.mark.parametrize("text", ["-1", "0", "abc", "nan", "", "1,,2", "-inf", "1e400"])
def test_bad_epsilons_are_rejected(text):
    with pytest.raises(BenchError, match="epsilon"):
        parse_epsilons(text)


def test_grid_parsing_keeps_order_and_drops_duplicates():
    assert parse_epsilons(" 10, 1,inf,10") == (10.0, 1.0, math.inf)


def test_budget_validation():
    assert not PrivacyBudget(math.inf, 1e-5).is_private
    with pytest.raises(BenchError):
        PrivacyBudget(1.0, 0.0)
    with pytest.raises(BenchError):
        PrivacyBudget(math.nan, 1e-5)


def test_format_epsilon_round_trips():
    for eps in (0.5, 1.0, 10.0, 12.5, math.inf):
        assert parse_epsilons(format_epsilon(eps)) == (eps,)
