"""The presets do what the table of docs/presets.md says they do (sizes, scale plans, optimizer, layers)."""

from __future__ import annotations

import re

import pytest

from nst import presets
from nst.pyramid import fit_size, plan_sizes
from tests.docs import read_doc


def readme_rows() -> dict[str, tuple[str, str]]:
    """The preset table of docs/presets.md: preset name -> (transfer cell, texture cell)."""
    rows = {}
    for line in read_doc("presets.md").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found = re.match(r"`(\w+)`", cells[0]) if len(cells) == 4 else None
        if found:
            rows[found.group(1)] = (cells[2], cells[3])
    return rows


def plan(name: str, operation: str) -> list[tuple[int, int]]:
    """The scales a preset runs: a 4:3 photo for a transfer, a square texture."""
    settings = presets.get(name, operation)
    if operation == "transfer":
        final = fit_size(1024, 768, settings.size)
    else:
        final = (settings.width, settings.height) if settings.width is not None else (settings.size, settings.size)
    return plan_sizes(final, settings.start_size)


def scales_text(sizes: list[tuple[int, int]]) -> str:
    """How docs/presets.md words a plan: '512 px, 5 scales from 128 px' or '128 px, one scale'."""
    final = max(sizes[-1])
    if len(sizes) == 1:
        return f"{final} px, one scale"
    return f"{final} px, {len(sizes)} scales from {max(sizes[0])} px"


def test_the_readme_table_lists_every_preset():
    assert set(readme_rows()) == set(presets.names())


@pytest.mark.parametrize("name", ["quality", "fast"])
def test_scale_plans_are_the_readmes(name):
    transfer_cell, texture_cell = readme_rows()[name]
    assert transfer_cell.startswith(scales_text(plan(name, "transfer"))), transfer_cell
    assert texture_cell.startswith(scales_text(plan(name, "texture"))), texture_cell


def test_the_quality_preset():
    transfer, texture = presets.get("quality", "transfer"), presets.get("quality", "texture")
    transfer_cell, texture_cell = readme_rows()["quality"]
    assert transfer.optimizer.method == "lbfgs" and "L-BFGS" in transfer_cell
    assert plan("quality", "transfer") == [(128, 96), (181, 136), (256, 192), (362, 272), (512, 384)]
    # Textures leave block5 out (its Gram matrices pin a small canvas's layout: a copy, not a texture).
    assert texture.style_layers == ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
    assert "layers block1-4" in texture_cell
    assert presets.get("fast", "texture").style_layers == texture.style_layers
    assert presets.DEFAULT == "quality" and "| `quality` (default) |" in read_doc("presets.md")


def test_the_tutorial_preset_is_the_notebooks_recipe():
    transfer, texture = presets.get("tutorial", "transfer"), presets.get("tutorial", "texture")
    transfer_cell, texture_cell = readme_rows()["tutorial"]
    assert transfer_cell == f"Adam, {transfer.steps} steps at {transfer.size} px, content layer `{transfer.content_layer}`"
    assert texture_cell == f"Adam, {texture.steps} steps at {texture.size} px from {texture.noise} noise"
    assert (transfer.steps, transfer.size, transfer.content_layer) == (2000, 512, "block5_conv2")
    assert (texture.steps, texture.size, texture.noise, texture.square) == (5000, 224, "uniform", True)
    for settings in (transfer, texture):
        assert plan_sizes((settings.size, settings.size), settings.start_size) == [(settings.size,) * 2]
        assert settings.optimizer.method == "adam" and settings.optimizer.beta1 == 0.99
        assert settings.optimizer.epsilon == 0.1 and not settings.normalize
    assert transfer.optimizer.lr == 0.001 and texture.optimizer.lr == 0.2
    assert (transfer.style_weight, transfer.content_weight, transfer.tv_weight) == (1e-2, 1e4, 1e9)
    assert (texture.style_weight, texture.tv_weight) == (1e-1, 1e9)
    assert transfer.style_size == 224, "the notebook's style image is 224 px"


@pytest.mark.parametrize("name", ["quality", "best", "fast"])
def test_a_texture_preset_the_readme_calls_a_seamless_tile_is_tileable_at_that_size(name):
    texture = presets.get(name, "texture")
    cell = readme_rows()[name][1]
    assert f"a {texture.width}x{texture.height} seamless tile" in cell, cell
    assert texture.tileable, f"the {name} texture preset is not tileable, though the table of docs/presets.md says so"
