"""The objective as a list of terms (nst.terms): the engine, the tile-by-tile objective and the benchmark
read the same list, and a term the tiles cannot compute is refused, never dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from nst import presets, terms, tiling
from nst.errors import ParameterError
from nst.settings import Settings
from tests.factories import make_painting, make_photo


def test_a_render_reports_each_of_its_terms_in_the_lists_order(engine):
    settings = presets.settings("transfer", {"size": 64, "steps": 2, "start_size": 64})
    result = engine.transfer(make_photo(64, 48), [make_painting(64, 64)], settings)
    names = [term.name for term in terms.of(settings, texture=False)]
    assert names == ["style", "tv", "content"]
    assert list(result.losses) == names + ["total"]
    assert result.losses["total"] == pytest.approx(sum(result.losses[n] for n in names), rel=1e-5)
    assert [t.name for t in terms.of(presets.get("quality", "texture"), texture=True)] == ["style", "tv"]


@dataclass(frozen=True)
class _Elsewhere(terms.Term):
    """A term of neither kind the tiles compute (it reads features, not through Gram matrices)."""

    name: ClassVar[str] = "elsewhere"
    weight: ClassVar[str] = "elsewhere_weight"
    fields: ClassVar[tuple[str, ...]] = ("elsewhere_weight",)


def test_the_tiled_objective_refuses_a_term_it_cannot_compute():
    tiling.check((terms.Style(("block1_conv1",)), terms.TotalVariation()))
    with pytest.raises(ParameterError, match="elsewhere_weight"):
        tiling.check((terms.Style(("block1_conv1",)), _Elsewhere(("block1_conv1",))))
    with pytest.raises(ParameterError, match="tile by tile"):
        tiling.TiledObjective((None, None), {}, (_Elsewhere(("block1_conv1",)),), [[]], (128, 128), 64)


def test_the_tiled_objective_computes_gram_terms_in_numpy_as_the_compiled_one():
    rng = np.random.default_rng(0)
    grams = [rng.random((4, 4)), rng.random((8, 8))]
    targets = [rng.random((4, 4)), rng.random((8, 8))]
    weights = np.array([0.5, 2.0])
    value, derivatives = terms.Style.of_grams(grams, [targets, weights])
    expected = sum(w * np.mean((g - t) ** 2) for w, g, t in zip(weights, grams, targets))
    assert value == pytest.approx(expected)
    step = 1e-6
    bumped = [grams[0].copy(), grams[1]]
    bumped[0][1, 2] += step
    assert derivatives[0][1, 2] == pytest.approx((terms.Style.of_grams(bumped, [targets, weights])[0] - value) / step,
                                                 rel=1e-4)


def test_the_benchmark_swaps_every_setting_of_every_term():
    from bench import compare

    for cls in terms.TERMS:
        assert cls.weight in cls.fields and set(cls.fields) <= set(compare.OBJECTIVE_FIELDS), cls.name
        assert cls.weight in {f for f in Settings.__dataclass_fields__}
