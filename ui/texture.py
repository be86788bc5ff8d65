"""Texture: grow a new texture from noise with the statistics of saved styles (or a region of each).

The result is shown as one tile and tiled 3 x 3, so a seam or a repeated motif shows at a glance;
the tile downloads as PNG.
"""

from __future__ import annotations

import streamlit as st

from nst.errors import NSTError
from nst.settings import MIN_CROP_SIDE
from ui import services
from ui.estimate import expected_time
from ui.job_panel import job_panel
from ui.origins import filter_origin
from ui.scroll import scroll_to
from ui.style_choice import by_recent_use
from ui.text import md
from ui.widgets import (blend_weights, filter_label, kept_toggle, param_widgets, preset_picker, style_picker,
                        styles_and_filters, thumbnails_row, values_complete)


@st.cache_data(max_entries=64, show_spinner=False)
def _framed_thumbnail(image_id: int, sha256: str, size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """The style's thumbnail with the crop box drawn on it and the rest dimmed."""
    from PIL import Image, ImageDraw

    from nst import images

    thumb = images.load(services.library().thumbnail_bytes(image_id), as_input=False)
    scale = thumb.width / size[0]
    x, y, w, h = box
    rect = (round(x * scale), round(y * scale), round((x + w) * scale) - 1, round((y + h) * scale) - 1)
    dim = Image.new("RGB", thumb.size, (0, 0, 0))
    mask = Image.new("L", thumb.size, 140)
    ImageDraw.Draw(mask).rectangle(rect, fill=0)
    framed = Image.composite(dim, thumb, mask)
    ImageDraw.Draw(framed).rectangle(rect, outline=(255, 214, 0), width=2)
    return images.encode(framed, "PNG")


def _bounded(key: str, low: int, high: int, default: int) -> None:
    """Keep a number input's stored value inside bounds that depend on other inputs."""
    value = st.session_state.get(key, default)
    st.session_state[key] = min(max(int(value), low), high)


def crop_boxes(library, chosen: list) -> list[tuple[int, int, int, int] | None]:
    """Per chosen style: a region to learn from (x, y, width, height in its pixels), or None for all of it."""
    boxes: list[tuple[int, int, int, int] | None] = []
    for style in chosen:
        record = library.get_image(style.image_id)
        width, height = record.width, record.height
        key = f"texture:crop:{style.id}"
        if not st.toggle(f"Learn from a part of “{style.name}” only", key=key + ":on",
                         help=f"A region of the painting, in its pixels ({width}x{height}); at least "
                              f"{MIN_CROP_SIDE} px a side."):
            boxes.append(None)
            continue
        for name, low, high, default in (("x", 0, width - MIN_CROP_SIDE, 0), ("y", 0, height - MIN_CROP_SIDE, 0)):
            _bounded(f"{key}:{name}", low, high, default)
        x0, y0 = st.session_state[f"{key}:x"], st.session_state[f"{key}:y"]
        _bounded(f"{key}:w", MIN_CROP_SIDE, width - x0, (width - x0) // 2 or MIN_CROP_SIDE)
        _bounded(f"{key}:h", MIN_CROP_SIDE, height - y0, (height - y0) // 2 or MIN_CROP_SIDE)
        picture, numbers = st.columns([1, 1])
        with numbers:
            left, right = st.columns(2)
            x = left.number_input("x", 0, width - MIN_CROP_SIDE, step=16, key=f"{key}:x")
            y = right.number_input("y", 0, height - MIN_CROP_SIDE, step=16, key=f"{key}:y")
            w = left.number_input("Width", MIN_CROP_SIDE, width - x, step=16, key=f"{key}:w")
            h = right.number_input("Height", MIN_CROP_SIDE, height - y, step=16, key=f"{key}:h")
        box = (int(x), int(y), int(w), int(h))
        with picture:
            st.image(_framed_thumbnail(style.image_id, record.sha256, (width, height), box),
                     caption=f"{w}x{h} px from ({x}, {y})", width="stretch")
        boxes.append(box)
    return boxes


st.title("Texture")
library = services.library()
registry = services.registry()
weights_ok, weights_message = services.weights_status()

styles, filters = styles_and_filters(
    library, registry, content=False, preferred="texture_synthesis",
    no_styles="There are no styles yet. Add a painting or a texture first.",
    no_filters="No texture filter is loaded; see the Plugins page.")

renders_slot = st.container()  # the render, above the form, once there is one
style_col, settings_col = st.columns([1, 1], gap="large")
with settings_col:
    st.subheader("2 · Filter")
    flt = st.selectbox("Filter", filters, format_func=filter_label(filters), key="texture:filter")
    origin = filter_origin(registry, flt.id)
    st.caption(md(flt.description) + (f" · Plugin {md(origin)}" if origin else ""))
    takes_crop = any(p.name == "crop" and p.kind == "boxes" for p in flt.params)
with style_col:
    st.subheader("1 · Styles")
    # Ranked as on Stylize: the styles in use, then the user's own, then paintings before generated patterns.
    styles = by_recent_use(styles, library.style_usage())
    several = flt.needs.max_styles > 1 and kept_toggle(
        "Blend several styles", "texture:blending",
        help="Off: the style picked replaces the one chosen. On: up to four styles, mixed by weight.")
    chosen = style_picker(styles, "texture:styles", blend=several, limit=min(4, flt.needs.max_styles),
                          chosen_ids=st.session_state.pop("texture:preselect", None))
    thumbnails_row(library, chosen)
    weights = blend_weights(chosen, "texture:blend")
    boxes = crop_boxes(library, chosen) if takes_crop and chosen else []
with settings_col:
    prefix = f"texture:{flt.id}"
    preset_picker(flt, prefix)
    hidden = ("crop",) if takes_crop else ()
    values = param_widgets(flt, prefix, hidden=hidden)
    if takes_crop:
        values["crop"] = tuple(boxes) if any(boxes) else ()
    if flt.needs.vgg and not weights_ok:
        st.error(weights_message, icon=":material/error:")
    run = st.button("Synthesize", type="primary", icon=":material/texture:", width="stretch",
                    disabled=(flt.needs.vgg and not weights_ok) or len(chosen) < flt.needs.min_styles
                    or not values_complete(flt, values, hidden))
    expected_time(library, flt, values, None, [(s.width, s.height) for s in chosen])

if run:
    try:
        render_id = services.farm().submit(flt.id, values, None, [(s.id, w) for s, w in zip(chosen, weights)])
        st.session_state["texture:jobs"] = [render_id]
        scroll_to("render", render_id)  # the progress is where the user looks, on any screen
    except NSTError as exc:
        st.error(md(exc), icon=":material/error:")

if st.session_state.get("texture:jobs"):
    with renders_slot:
        st.subheader("Render", anchor="render")
        job_panel("texture:jobs", tiled=True)
        st.divider()
