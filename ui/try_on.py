"""Try it on my photo: the instant filter paints one photo in every style, here, at once.

The Gallery's cards show the chosen photo (uploaded, or one of the recent photos) in their style, and
choosing another photo repaints them; Stylize shows an instant preview of the chosen photo, styles, blend
and strength before Paint. The work runs in this process, on the script's thread, never through the
render queue: a queued preview waits for the render in progress however high its priority, and ten
renders per photo would fill History (``python -m bench.tryon`` measures both ways; docs/instant.md).

Each painting is one pass of the network at :data:`SIDE` px. Style vectors come from the library
(:meth:`db.gram_store.GramStore.get_vector`): a style is analysed once for every process, and a style
whose vector is known is not even decoded. Painted cards are cached by photo and style.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import streamlit as st

from nst import config, images, instant
from nst.errors import NSTError
from nst.params import blend_weights
from nst.targets import image_digest

from . import services
from .cards import tryon_picture
from .render_summary import photo_name
from .text import md

log = logging.getLogger(__name__)

#: Long side of the photo as it is painted: one pass of the network (384 px), the card's size and more.
SIDE = instant.NETWORK_SIDE
#: What a photo may be (the formats :mod:`nst.images` decodes; the same list as Stylize's).
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
#: Session entries: the chosen photo (a :class:`Photo`), and the upload it came from.
CHOSEN = "tryon:photo"
UPLOAD_SEEN = "tryon:upload-seen"
RECENT = 8
#: Width of a recent photo's square, in pixels.
THUMB = 96


@dataclass(frozen=True)
class Photo:
    """A chosen photo, decoded and checked once, kept small: what every card paints."""

    name: str
    png: bytes  # at most SIDE px on its long side
    digest: str  # of its pixels
    uploaded: bool = False  # from the upload box (removing the upload removes it), or a recent photo

    @property
    def picture(self):
        return images.load(self.png, as_input=False)


@st.cache_data(max_entries=8, show_spinner=False)
def prepare(data: bytes, name: str) -> Photo:
    """An uploaded or stored photo checked like any input (format, declared size, aspect: refused with the
    reason, :class:`~nst.errors.ImageError`), decoded, and reduced to :data:`SIDE` px."""
    small = images.thumbnail(images.load(data, name), SIDE)
    return Photo(name=name, png=images.encode(small, "PNG"), digest=image_digest(small))


@st.cache_data(ttl=60, show_spinner=False)
def unavailable() -> str:
    """Why the instant filter cannot run here (one line), or ""."""
    return instant.unavailable()


@st.cache_resource(show_spinner=False)
def _model() -> instant.Model:
    """The network, checked once (the style vectors are kept in the library: the app's assembly opened it so)."""
    return instant.model()


@st.cache_resource(show_spinner=False)
def _warming() -> dict:
    return {"thread": None, "lock": threading.Lock()}


def warm_vectors(styles) -> None:
    """Compute the vectors of ``styles`` that are not known yet, in a background thread, while the user
    chooses a photo (each style's is then in the library for good: this runs once per style, not per
    visit). A failure is logged and left to the cards, which compute what they miss. Off with the rest of
    the background style analysis (``NST_STYLE_ANALYSIS=0``)."""
    if unavailable() or not config.value("NST_STYLE_ANALYSIS"):
        return
    library, state = services.library(), _warming()
    wanted = [(s.id, s.pixel_digest) for s in styles]

    def work():
        try:
            net = instant.model()
            for style_id, digest in wanted:
                instant.VECTORS.lookup(net, digest, lambda i=style_id: library.style_image(i))
        except Exception as exc:  # noqa: BLE001 - the cards compute what is missing
            log.warning("Style vectors could not be prepared in the background (%s).", exc)

    with state["lock"]:
        if state["thread"] is not None and state["thread"].is_alive():
            return
        state["thread"] = threading.Thread(target=work, name="instant-vectors", daemon=True)
        state["thread"].start()


def vectors_ready(timeout: float | None = None) -> bool:
    """Wait for the background vectors (:func:`warm_vectors`) of this process; whether they are done."""
    thread = _warming()["thread"]
    if thread is not None:
        thread.join(timeout)
    return thread is None or not thread.is_alive()


def _vector(net: instant.Model, style) -> "instant.np.ndarray":
    library = services.library()
    return instant.VECTORS.lookup(net, style.pixel_digest, lambda: library.style_image(style.id))


@st.cache_data(max_entries=1024, show_spinner=False)
def painted(photo_png: bytes, styles: tuple, strength: float = 1.0, preserve_colors: bool = False) -> bytes:
    """The photo painted in the blend of ``styles`` ((style id, pixel digest, weight), ...): a JPEG."""
    net = _model()
    library = services.library()
    weights = blend_weights([w for _, _, w in styles])
    vector = sum(w * _vector(net, library.get_style(style_id)) for (style_id, _, w) in styles if w > 0) / sum(weights)
    request = instant.Request(size=SIDE, detail=SIDE, strength=strength, preserve_colors=preserve_colors)
    result = instant.paint_vector(net, images.load(photo_png, as_input=False), vector, request)
    return images.encode(result, "JPEG", quality=90)


# --------------------------------------------------------------------------- the Gallery


def chosen() -> Photo | None:
    return st.session_state.get(CHOSEN)


def chooser(library) -> Photo | None:
    """The Gallery's "Try it on my photo" box: an upload, or one of the recent photos. The chosen photo."""
    photo = chosen()
    with st.expander("Try it on my photo", icon=":material/photo_camera:", expanded=photo is not None):
        reason = unavailable()
        if reason:
            st.caption(f"Instant previews are unavailable here: {md(reason)}")
            return None
        st.caption("Every card then shows your photo in its style: a quick sketch by the instant filter, made "
                   "here in a moment. **Use** paints the one you like properly.")
        upload = st.file_uploader("Your photo", type=PHOTO_TYPES, key="tryon:upload")
        seen = st.session_state.get(UPLOAD_SEEN)
        if upload is not None and upload.file_id != seen:
            st.session_state[UPLOAD_SEEN] = upload.file_id
            photo = _choose(upload.getvalue(), upload.name, uploaded=True)
        elif upload is None and seen is not None:  # the upload was removed: so is the photo it gave
            st.session_state.pop(UPLOAD_SEEN, None)
            if photo is not None and photo.uploaded:
                st.session_state.pop(CHOSEN, None)
                photo = None
        recent = library.recent_content_images(limit=RECENT)
        if recent:
            st.caption("…or one you painted before:")
            row = st.container(horizontal=True, wrap=True, gap="small")  # small squares, wrapping on a phone
            for record in recent:
                with row.container(width=THUMB, gap="small"):
                    st.image(_square(library.thumbnail_bytes(record.id)), width=THUMB)
                    if st.button("Try", key=f"tryon:recent:{record.id}", width="stretch",
                                 help=md(f"{record.width}x{record.height} px")):
                        photo = _choose(library.image_bytes(record.id), photo_name(record))
        if photo is not None:
            row = st.container(horizontal=True, wrap=True, vertical_alignment="center", gap="medium")
            row.image(photo.png, width=THUMB * 2)
            with row.container(width="content"):
                st.caption("Your photo, shown on every card below (the painting in its corner).")
                st.button("Back to the samples", key="tryon:clear", icon=":material/close:", on_click=_clear)
    return photo


def _clear() -> None:
    st.session_state.pop(CHOSEN, None)


@st.cache_data(max_entries=64, show_spinner=False)
def _square(thumbnail: bytes) -> bytes:
    """A recent photo's stored thumbnail cropped to a square, so that the row of them lines up."""
    from PIL import ImageOps

    picture = images.load(thumbnail, as_input=False)
    return images.encode(ImageOps.fit(picture, (THUMB * 2, THUMB * 2)), "JPEG", quality=85)


def _choose(data: bytes, name: str, uploaded: bool = False) -> Photo | None:
    """Check and keep a photo; a bad one is refused with the reason, and the previous choice stays."""
    try:
        photo = prepare(data, name)
        photo = Photo(photo.name, photo.png, photo.digest, uploaded)
    except NSTError as exc:
        st.error(f"This photo cannot be used: {md(exc)}", icon=":material/error:")
        return chosen()
    st.session_state[CHOSEN] = photo
    return photo


def card(style, photo: Photo) -> bytes | None:
    """A gallery card's picture: the photo painted in ``style``, the painting in a corner. None (and a
    caption) when the network fails here."""
    try:
        result = painted(photo.png, ((style.id, style.pixel_digest, 1.0),))
    except NSTError as exc:
        st.caption(md(exc))
        return None
    return tryon_picture(style.image_id, result)


# --------------------------------------------------------------------------- Stylize


def preview(photo_source, styles, weights, flt, values) -> None:
    """Stylize's instant preview: the first chosen photo (``(bytes, name)`` or None) in the chosen styles,
    their blend, and the filter's strength and colour choice when it has them; a one-line reason when the
    instant filter cannot run here."""
    if photo_source is None or not styles or flt.needs.max_styles == 0:
        return
    reason = unavailable()
    if reason:
        st.caption(f"No instant preview here: {md(reason)}")
        return
    data, name = photo_source
    try:
        photo = prepare(data, name)
        image = painted(photo.png, tuple((s.id, s.pixel_digest, float(w)) for s, w in zip(styles, weights)),
                        float(values.get("strength", 1.0)) if _declares(flt, "strength") else 1.0,
                        bool(values.get("preserve_colors", False)))
    except NSTError as exc:
        st.caption(f"No instant preview: {md(exc)}")
        return
    st.image(image, width="stretch", caption="Instant preview: a quick sketch of this choice (Paint makes the "
                                             "real painting)")


def _declares(flt, name: str) -> bool:
    return any(p.name == name for p in flt.params)


def first_photo(uploads, recent, library) -> tuple[bytes, str] | None:
    """Stylize's first chosen photo as (bytes, name): the first upload, else the first recent photo."""
    if uploads:
        return uploads[0].getvalue(), uploads[0].name
    if recent:
        return library.image_bytes(recent[0].id), photo_name(recent[0])
    return None
