"""Stylize: photos + saved styles + a filter -> paintings, rendered in the background with live progress."""

from __future__ import annotations

import streamlit as st

from nst import images
from nst.errors import NSTError
from ui import services, try_on
from ui.job_panel import PHOTO_NAMES, download_all, job_panel
from ui.origins import filter_origin
from ui.estimate import expected_time
from ui.render_summary import local_time, photo_name
from ui.scroll import scroll_to
from ui.style_choice import by_recent_use
from ui.text import md
from ui.widgets import (blend_weights, filter_label, param_widgets, preset_picker, style_picker,
                        styles_and_filters, thumbnails_row, values_complete)

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
#: Photos one click of Paint takes. They are decoded, checked and queued one at a time, so the page
#: holds one decoded photo at once, whatever the count (a render decodes its photo again if the
#: handoff to this process's render threads did not keep it: :mod:`studio.handoff`).
MAX_PHOTOS = 20
#: Megabytes per uploaded file: ``server.maxUploadSize`` in .streamlit/config.toml, the library's own limit.
UPLOAD_MB = st.get_option("server.maxUploadSize")


#: Renders of this session Stylize keeps showing, newest first (History has them all); a click's are all kept.
KEPT_RENDERS = 20
#: The uploaded photos are kept for the session (a visit to another page empties the upload box) while they
#: take at most this many bytes together; larger uploads are not kept, and the page says so.
KEEP_BYTES = 128 * 2 ** 20
#: session_state: the photos last uploaded, as :class:`KeptPhoto` (None: too large to keep).
KEPT = "stylize:kept_photos"
PREVIEW_SIDE = 240


class KeptPhoto:
    """An uploaded photo kept across pages: what the page reads of an upload (``name``, ``getvalue()``)."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def keep_uploads() -> None:
    """on_change of the upload box: what it holds now is kept (emptied by the user, nothing is)."""
    files = st.session_state.get("stylize:uploads") or []
    if sum(f.size for f in files) > KEEP_BYTES:
        st.session_state[KEPT] = None
    else:
        st.session_state[KEPT] = [KeptPhoto(f.name, f.getvalue()) for f in files]


@st.cache_data(max_entries=32, show_spinner=False)
def photo_preview(data: bytes, name: str) -> tuple[bytes, str] | str:
    """A small JPEG of a chosen photo and its size ("1024×768 px"), or why it cannot be read (checked as Paint
    checks it)."""
    try:
        picture = images.load(data, name)
        return (images.encode(images.thumbnail(picture, PREVIEW_SIDE), "JPEG", quality=85),
                f"{picture.width}×{picture.height} px")
    except NSTError as exc:
        return str(exc)


def preview_photos(photos, named: bool) -> None:
    """The chosen photos, small (``named``: with their names, which the upload box lists otherwise): the
    first eight, and how many more."""
    grid = st.grid(4, gap="small")
    for photo in photos[:8]:
        with grid.cell():
            shown = photo_preview(photo.getvalue(), photo.name)
            if isinstance(shown, tuple):
                st.image(shown[0], caption=f"{md(photo.name)} · {shown[1]}" if named else shown[1], width="stretch")
            else:
                st.caption(f"{md(photo.name)}: {md(shown)}")
    if len(photos) > 8:
        st.caption(f"and {len(photos) - 8} more")


def first_photo_size(uploads, recent) -> tuple[int, int] | None:
    """The size of the first chosen photo, from its header (nothing is decoded), or None."""
    try:
        if uploads:
            with images.open_checked(uploads[0].getvalue(), uploads[0].name) as header:
                return header.size
    except NSTError:
        return None
    return (recent[0].width, recent[0].height) if recent else None


def recent_label(record) -> str:
    """A recent photo by when it was first painted, in the browser's time zone (the library keeps photos by
    content, not by file name)."""
    return local_time(record.created_at, st.context.timezone)


def too_many_text(count: int) -> str:
    return (f"{count} photos are chosen; Paint takes at most {MAX_PHOTOS} at a time. Remove "
            f"{count - MAX_PHOTOS}, paint these, then add the others.")


def chosen_photos(uploads, recent, library):
    """(name, bytes) of each chosen photo, read one at a time."""
    for upload in uploads or []:
        yield upload.name, upload.getvalue()
    for record in recent:
        yield photo_name(record), library.image_bytes(record.id)


def paint(count: int, photos, uploads, filter_id: str, values: dict, styles: list) -> tuple[list, dict]:
    """Queue one render per photo, one photo at a time: each is decoded on its way into the library,
    submitted, and let go before the next is read. The uploads' headers are checked first (format,
    declared size: nothing is decoded), so an upload that is not a usable image queues nothing.
    Returns the render ids and each one's original as a small JPEG; a failure is shown on the page."""
    ids, originals = [], {}
    if count > MAX_PHOTOS:  # the button is disabled then; a click that raced the change stops here
        st.error(too_many_text(count), icon=":material/error:")
        return ids, originals
    farm = services.farm()
    try:
        for upload in uploads or []:
            images.open_checked(upload.getvalue(), upload.name).close()
        for name, data in photos:
            try:
                photo = farm.prepare_photo(data, name)
                render_id = farm.submit(filter_id, values, photo, styles)
            except NSTError:
                if ids:  # the renders queued before this photo stay queued, and the page says so
                    st.warning(f"{len(ids)} photo{'s were' if len(ids) != 1 else ' was'} queued before "
                               f"{md(name)}; the photos after it were not.", icon=":material/warning:")
                raise
            ids.append(render_id)
            st.session_state.setdefault(PHOTO_NAMES, {})[render_id] = name  # for its download's name
            originals[render_id] = images.encode(images.thumbnail(photo.picture, 720), "JPEG")
            del photo, data  # the decoded photo goes before the next is read
    except NSTError as exc:
        st.error(md(exc), icon=":material/error:")
    return ids, originals


st.title("Stylize")
library = services.library()
registry = services.registry()
weights_ok, weights_message = services.weights_status()

styles, filters = styles_and_filters(
    library, registry, content=True, preferred="style_transfer",
    no_styles="There are no styles yet. Add a painting first.",
    no_filters="No filter that takes a photo is loaded; see the Plugins page.")

renders_slot = st.container()  # the renders, above the form, once there are any
inputs_col, settings_col = st.columns([1, 1], gap="large")
with inputs_col:
    st.subheader("1 · Photos")
    uploads = st.file_uploader(f"Upload one or more photos (up to {MAX_PHOTOS} per click)", type=PHOTO_TYPES,
                               accept_multiple_files=True, key="stylize:uploads", on_change=keep_uploads,
                               help=f"Up to {MAX_PHOTOS} photos per click of Paint, each at most {UPLOAD_MB} MB "
                                    "and 50 megapixels.")
    kept = st.session_state.get(KEPT)
    if not uploads and kept:  # uploaded before a visit to another page, which emptied the box
        uploads = kept
        note, clear = st.columns([3, 1], vertical_alignment="center")
        note.caption(f"{len(kept)} photo{'s' if len(kept) != 1 else ''} kept from before; upload others to "
                     "replace {0}.".format("them" if len(kept) != 1 else "it"))
        if clear.button("Clear", key="stylize:clear_kept", icon=":material/close:"):
            st.session_state[KEPT] = []
            st.rerun()
    elif uploads and kept is None:
        st.caption("These photos are too large together to keep when you visit another page.")
    if uploads:
        preview_photos(uploads, named=uploads is kept)
    recent = library.recent_content_images(limit=8)
    picked_recent = []
    if recent:
        with st.expander(f"…or reuse a recent photo ({len(recent)})"):
            grid = st.grid(4, gap="small")
            for record in recent:
                with grid.cell():
                    st.image(library.thumbnail_bytes(record.id), width="stretch")
                    if st.checkbox(recent_label(record), key=f"stylize:recent:{record.id}",
                                   help=md(f"{record.width}x{record.height} px")):
                        picked_recent.append(record)

with settings_col:  # the filter first: whether the Styles box shows depends on it
    filter_heading = st.empty()
    flt = st.selectbox("Filter", filters, format_func=filter_label(filters), key="stylize:filter",
                       help="Any loaded plugin that paints a photo")
    origin = filter_origin(registry, flt.id)
    st.caption(md(flt.description) + (f" · Plugin {md(origin)}" if origin else ""))
    filter_heading.subheader("3 · Filter" if flt.needs.max_styles > 0 else "2 · Filter")

chosen, weights = [], []
# a style picked on another page (kept for a filter that takes one)
preselect = st.session_state.pop("stylize:preselect", None) if flt.needs.max_styles > 0 else None
if flt.needs.max_styles > 0:  # a filter that takes no style (a sepia tone) gets none, and no box for one
    with inputs_col:
        st.subheader("2 · Styles")
        usage = library.style_usage()
        styles = by_recent_use(styles, usage)  # in use first; paintings before generated patterns
        chosen = style_picker(styles, "stylize:styles", default_ids=[styles[0].id],
                              limit=min(4, flt.needs.max_styles), chosen_ids=preselect)
        thumbnails_row(library, chosen)
        weights = blend_weights(chosen, "stylize:blend")

with settings_col:
    prefix = f"stylize:{flt.id}"
    preset_picker(flt, prefix)
    values = param_widgets(flt, prefix)
    if flt.needs.vgg and not weights_ok:
        st.error(weights_message, icon=":material/error:")
    photos_count = len(uploads or []) + len(picked_recent)
    too_many = photos_count > MAX_PHOTOS
    if too_many:
        st.error(too_many_text(photos_count), icon=":material/error:")
    run = st.button(f"Paint {photos_count} photo{'s' if photos_count != 1 else ''}" if photos_count else "Paint",
                    type="primary", icon=":material/brush:", width="stretch",
                    disabled=(flt.needs.vgg and not weights_ok) or not photos_count or too_many
                    or len(chosen) < flt.needs.min_styles or not values_complete(flt, values))
    if not photos_count:
        st.caption("Upload a photo (or pick a recent one) to start.")
    expected_time(library, flt, values, first_photo_size(uploads, picked_recent),
                  [(s.width, s.height) for s in chosen])

with inputs_col:  # an instant sketch of this choice, before Paint
    try_on.preview(try_on.first_photo(uploads, picked_recent, library), chosen, weights, flt, values)

if run:
    queued, originals = paint(photos_count, chosen_photos(uploads, picked_recent, library), uploads,
                              flt.id, values, [(s.id, w) for s, w in zip(chosen, weights)])
    if queued:  # the session's renders, newest first
        earlier_ids = [i for i in st.session_state.get("stylize:jobs", []) if i not in queued]
        kept = queued + earlier_ids[:max(0, KEPT_RENDERS - len(queued))]  # the whole click, then older ones
        earlier = st.session_state.get("stylize:originals") or {}
        st.session_state["stylize:jobs"] = kept
        st.session_state["stylize:originals"] = {i: originals.get(i, earlier.get(i)) for i in kept}
        scroll_to("renders", queued[0])  # the progress is where the user looks, on any screen

if st.session_state.get("stylize:jobs"):
    with renders_slot:
        st.subheader("Renders", anchor="renders")
        if len(st.session_state["stylize:jobs"]) >= KEPT_RENDERS:
            st.caption(f"The latest {KEPT_RENDERS} renders of this visit, newest first; all of them are in History.")
        job_panel("stylize:jobs", st.session_state.get("stylize:originals"))
        download_all(st.session_state["stylize:jobs"], "stylize:all")
        st.divider()
