"""Scale planning (nst.pyramid): the sizes, step budgets and style sizes a render runs through, and the
benchmark planning the same scales as the engine."""

from __future__ import annotations

from PIL import Image

from bench import compare
from nst import pyramid
from nst.settings import Settings

TEXTURE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")


def test_a_transfer_keeps_the_short_side_at_32_px():
    plan = pyramid.transfer(Settings(size=128, start_size=64), (400, 80), [(300, 200)])
    assert plan.final == (158, 32), "128x26 would be under the smallest side"
    assert plan.sizes == ((79, 32), (112, 32), (158, 32))


def test_step_budgets_grow_towards_the_coarse_scales():
    settings = Settings(steps=8, coarse_steps=1.5)
    assert pyramid.step_budgets(settings, 3) == [18, 12, 8]
    assert pyramid.step_budgets(settings.replace(final_steps=3), 3) == [18, 12, 3]


def test_a_tileable_texture_starts_where_the_painting_is_small_on_aligned_scales():
    settings = Settings(width=200, height=128, tileable=True, style_layers=TEXTURE_LAYERS,
                        style_layer_weights=(1.0,) * 4, start_size=64, stroke_scale=0.125, init="noise")
    plan = pyramid.texture(settings, [(1024, 640)])
    # The painting is seen at 128x80 px in the 200-px texture: the schedule starts where it is 64 px (at
    # 100x64), every scale is a multiple of block4's stride (8 px), and the painting shrinks with them.
    assert pyramid.stroke_size((1024, 640), None, 0.125) == (128, 80)
    assert pyramid.plan_sizes((200, 128), 100) == [(100, 64), (141, 91), (200, 128)]
    assert plan.final == (200, 128) and plan.sizes == ((96, 64), (144, 88), (200, 128))
    assert plan.style_sizes == (((61, 38),), ((92, 58),), ((128, 80),))
    cropped = pyramid.texture(settings, [(1024, 640)], [(0, 0, 512, 320)])
    assert cropped.style_sizes[-1] == ((64, 40),), "a crop keeps the painting's stroke size"


def test_styles_follow_the_result_and_the_style_scale():
    plan = pyramid.transfer(Settings(size=256, start_size=128, style_scale=0.5), (400, 300), [(800, 400)])
    assert plan.sizes == ((128, 96), (181, 136), (256, 192))
    assert [sizes[0] for sizes in plan.style_sizes] == [(64, 32), (90, 45), (128, 64)]


def test_the_benchmark_plans_the_engines_scales(engine):
    wide, style = Image.new("RGB", (400, 80), (90, 60, 30)), Image.new("RGB", (96, 96), (20, 40, 200))
    settings = Settings(size=128, start_size=64, steps=1, coarse_steps=1.0)
    painted = engine.transfer(wide, [style], settings)
    assert compare.sizes_for("transfer", wide, style, settings) == painted.scale_sizes == [(79, 32), (112, 32), (158, 32)]
