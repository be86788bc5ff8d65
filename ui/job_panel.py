"""The live view of renders: progress, losses and the image as it converges; cancel; download.

:func:`job_panel` is a fragment that re-runs itself every second while a job
is active, so the rest of the page (and the other pages) stay responsive.
Every tab, on any app process, reads the same render records (which the
render's worker updates about once a second), so all show the same state.
A refresh reads one row per render shown (:meth:`studio.farm.Farm.view`: its
place in the queue is a count), however long the queue is.
"""

from __future__ import annotations

import io
import math
import re
import zipfile

import streamlit as st

from db.lifecycle import RenderStatus
from nst.errors import NSTError

from . import services
from .text import md

def status_text(status) -> str:
    """What the app says of a render's status (:class:`db.lifecycle.RenderStatus`; a stored text that is none of
    them, as it is)."""
    known = RenderStatus.of(status)
    return known.text if known is not None else str(status)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _seconds(value: float | None) -> str:
    if value is None:
        return "…"
    value = max(0.0, float(value))
    return f"{value:.0f} s" if value < 90 else f"{value // 60:.0f} min {value % 60:02.0f} s"


def _losses_text(losses: dict) -> str:
    losses = {name: value for name, value in losses.items() if _finite(value)}  # a NaN loss is stored as null
    parts = [f"{name} {value:.3g}" for name, value in losses.items() if name != "total"]
    total = losses.get("total")
    return (f"loss {total:.4g}" if total is not None else "") + (f" ({', '.join(parts)})" if parts else "")


@st.cache_data(max_entries=64, show_spinner=False)
def _as_jpeg(sha256: str, image_id: int) -> bytes:
    """The JPEG of a stored image, cached by the image's content (an id alone could name another image later)."""
    from nst import images

    data = services.library().image_bytes(image_id)
    return images.encode(images.load(data, as_input=False), "JPEG", quality=92)


@st.cache_data(max_entries=32, show_spinner=False)
def tiled_preview(data: bytes, repeats: int = 3, tile_side: int = 512) -> bytes:
    """A JPEG of an image repeated ``repeats`` x ``repeats`` times (each copy at most ``tile_side`` px):
    how a texture looks in use, and whether its edges show."""
    from nst import images

    one = images.thumbnail(images.load(data, as_input=False), tile_side)
    return images.encode(images.tile(one, repeats, repeats), "JPEG", quality=90)


def download_buttons(library, image_id: int, stem: str, key: str, data: bytes | None = None) -> None:
    """PNG (the stored bytes, as rendered; ``data`` when the caller has read them) and JPEG (encoded once,
    then cached)."""
    left, right = st.columns(2)
    with left:
        st.download_button("Download PNG", data if data is not None else library.image_bytes(image_id),
                           file_name=f"{stem}.png",
                           mime="image/png", key=f"{key}:png", icon=":material/download:")
    with right:
        st.download_button("Download JPEG", _as_jpeg(library.get_image(image_id).sha256, image_id),
                           file_name=f"{stem}.jpg", mime="image/jpeg",
                           key=f"{key}:jpg", icon=":material/download:")


@st.cache_data(max_entries=8, show_spinner=False)
def _zip_of(results: tuple[tuple[str, str, int], ...]) -> bytes:
    """A zip of stored PNGs, ``(file name, image sha256, image id)`` each; cached by content."""
    library = services.library()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for name, _, image_id in results:
            archive.writestr(name, library.image_bytes(image_id))
    return buffer.getvalue()


#: session_state: render id -> the file name of its photo (the library keeps photos by content, not name).
PHOTO_NAMES = "render:photo_names"


def _slug(text: str, length: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:length]


def file_stem(render) -> str:
    """A download's name that says what it is: photo, style(s), preset, then the render's number
    (``beach-the-scream-fast-12``); a texture has no photo, a filter without presets no preset."""
    from .render_summary import preset_text

    try:
        flt = services.registry().get(render.filter_id)
    except NSTError:  # its plugin is gone
        flt = None
    photo = st.session_state.get(PHOTO_NAMES, {}).get(render.id, "")
    photo = photo.rsplit(".", 1)[0] if "." in photo else photo
    styles = "+".join(s.style_name for s in render.styles) or (flt.name if flt else render.filter_id)
    preset = preset_text(flt, render.params) if flt is not None and flt.presets else ""
    preset = preset.split(",")[0] if not preset.startswith("own") else "own"
    parts = [_slug(photo, 40), _slug(styles, 60), _slug(preset, 20), str(render.id)]
    return "-".join(part for part in parts if part)


def download_all(render_ids: list[int], key: str) -> None:
    """One button for every finished result among ``render_ids``, as a zip (shown from two results on)."""
    library = services.library()
    finished = []
    for render_id in render_ids:
        try:
            render = library.get_render(render_id)
        except NSTError:  # deleted meanwhile
            continue
        if render.result_image_id is not None and not render.active:
            finished.append((f"{file_stem(render)}.png", library.get_image(render.result_image_id).sha256,
                             render.result_image_id))
    if len(finished) < 2:
        return
    st.download_button(f"Download all {len(finished)} results (zip)", _zip_of(tuple(finished)),
                       file_name="renders.zip", mime="application/zip", icon=":material/folder_zip:",
                       key=f"{key}:zip", type="primary")


def _one_job(render_id: int, original: bytes | None, tiled: bool = False) -> bool:
    """Draw one job; True while it is still active. ``tiled``: the image beside itself repeated 3 x 3."""
    farm = services.farm()
    library = services.library()
    try:
        view = farm.view(render_id)
    except NSTError:
        st.warning(f"Render {render_id} is no longer in the history.")
        return False
    with st.container(border=True):
        head, cancel = st.columns([4, 1], vertical_alignment="center")
        with head:
            where = f" (position {view.queue_position})" if view.queue_position else ""
            retry = f" · attempt {view.attempts}" if view.attempts > 1 else ""
            st.markdown(f"**Render #{render_id}** · {status_text(view.status)}{where}{retry}")
        if view.active:
            with cancel:
                if st.button("Cancel", key=f"cancel:{render_id}", icon=":material/stop_circle:",
                             help="Stop now and keep the best image so far"):
                    try:
                        farm.cancel(render_id)
                    except NSTError as exc:  # it ended in the meantime
                        st.toast(md(exc))
                    st.rerun()  # the whole page: the click may come in a full run as well as a fragment's
        if view.status == RenderStatus.RUNNING and view.cancel_requested:
            st.progress(min(1.0, max(0.0, view.fraction)), text="Stopping after this step…")
        elif view.status == RenderStatus.RUNNING and view.step == 0:  # the stage the filter reports, else the usual start
            st.progress(min(1.0, max(0.0, view.fraction)) if view.stage else 0.0,
                        text=md(view.stage) if view.stage
                        else "Starting: loading the network and measuring the style…")
        elif view.status == RenderStatus.RUNNING:
            label = (f"Step {view.step} of {view.total} · {_seconds(view.elapsed)} elapsed · "
                     f"about {_seconds(view.eta)} left")
            st.progress(min(1.0, max(0.0, view.fraction)), text=label)
            if view.losses:
                st.caption(_losses_text(view.losses))
        elif view.status == RenderStatus.QUEUED:
            st.progress(0.0, text="Waiting for a free worker" if view.queue_position == 1
                        else "Waiting for the renders before it to finish")
            halted = getattr(services.render_threads(), "halted", None)  # held by filters that ignored their limit
            if halted:
                st.warning(md(f"Renders wait: {halted}"))
        elif view.status == RenderStatus.FAILED:
            st.error(md(view.error) if view.error else "The render failed.")
        left, right = st.columns(2)
        if original is not None:
            with left:
                st.image(original, caption="Original", width="stretch")
        picture = view.preview
        caption = "Live preview"
        if view.result_image_id is not None and not view.active:
            picture = library.image_bytes(view.result_image_id)
            caption = "Result" if view.status == RenderStatus.DONE else "Best image so far"
        if picture is not None:
            with right if original is not None else left:
                st.image(picture, caption=caption, width="stretch")
            if tiled and original is None:
                with right:
                    st.image(tiled_preview(picture), caption="Tiled 3 × 3", width="stretch")
        if view.result_image_id is not None and not view.active:
            st.caption(" · ".join(part for part in (_losses_text(view.losses), _seconds(view.elapsed)) if part))
            download_buttons(library, view.result_image_id, file_stem(library.get_render(render_id)),
                             f"dl:{render_id}", picture)
    return view.active


def job_panel(state_key: str, originals: dict[int, bytes] | None = None, tiled: bool = False) -> None:
    """Show the renders whose ids are in ``st.session_state[state_key]``, live while any runs; ``tiled``:
    each image also repeated 3 x 3 (textures)."""
    render_ids = list(st.session_state.get(state_key, []))
    if not render_ids:
        return
    # whether to poll: the renders' statuses only (the panel builds each view once, below)
    _panel(state_key, originals or {}, run_every=1.0 if services.farm().any_active(render_ids) else None,
           tiled=tiled)


def _panel(state_key: str, originals: dict[int, bytes], run_every: float | None, tiled: bool = False) -> None:
    @st.fragment(run_every=run_every)
    def panel() -> None:
        still_active = False
        for render_id in list(st.session_state.get(state_key, [])):
            still_active |= _one_job(render_id, originals.get(render_id), tiled)
        if run_every and not still_active:
            st.rerun()  # stop polling: redraw the page once, without the timer

    panel()
