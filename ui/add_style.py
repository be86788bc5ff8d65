"""Add style: upload paintings (several at once) with their details, or import a style pack; export one."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from nst.errors import NSTError
from ui import services
from ui.pages import GALLERY, STYLIZE
from ui.text import md

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]

st.title("Add style")
library = services.library()

upload_tab, pack_tab, export_tab = st.tabs(["Upload images", "Import a style pack", "Export a style pack"])

with upload_tab:
    files = st.file_uploader("Paintings, drawings or textures", type=IMAGE_TYPES, accept_multiple_files=True,
                             key="add:files", help="Each image becomes one style. At least 32 px on each side.")
    if files:
        with st.form("add:details"):
            entries = []
            for upload in files:
                st.markdown(f"**{md(upload.name)}**")
                name_col, artist_col, year_col, tags_col = st.columns([2, 2, 1, 3])
                with name_col:
                    name = st.text_input("Name", Path(upload.name).stem.replace("_", " ").replace("-", " ").title(),
                                         key=f"add:name:{upload.file_id}")
                with artist_col:
                    artist = st.text_input("Artist", key=f"add:artist:{upload.file_id}")
                with year_col:
                    year = st.text_input("Year", key=f"add:year:{upload.file_id}", placeholder="1889")
                with tags_col:
                    tags = st.text_input("Tags", key=f"add:tags:{upload.file_id}", placeholder="impressionism, night")
                entries.append((upload, name, artist, year, tags))
            submitted = st.form_submit_button(f"Add {len(files)} style{'s' if len(files) > 1 else ''}",
                                              type="primary", icon=":material/add:")
        if submitted:
            added = []
            for upload, name, artist, year, tags in entries:
                try:
                    record = library.add_style(upload.getvalue(), name=name, artist=artist.strip() or None,
                                               year=year.strip() or None,
                                               tags=[t.strip() for t in tags.split(",") if t.strip()])
                    st.success(f"Added **{md(record.name)}** ({record.width}x{record.height}).",
                               icon=":material/check_circle:")
                    added.append(record.id)
                except NSTError as exc:
                    st.error(md(f"{upload.name}: {exc}"), icon=":material/error:")
            st.session_state["add:added"] = added
        added = st.session_state.get("add:added") or []
        if added:
            paint_col, gallery_col = st.columns(2)
            with paint_col:
                if st.button("Paint a photo with " + ("it" if len(added) == 1 else "them"), type="primary",
                             icon=":material/brush:", width="stretch", key="add:paint"):
                    st.session_state["stylize:preselect"] = added
                    st.session_state.pop("add:added", None)
                    st.switch_page(STYLIZE)
            with gallery_col:
                st.page_link(GALLERY, label="See them in the gallery", icon=":material/photo_library:")

with pack_tab:
    st.caption("A style pack is a .zip of images with their names, artists and tags, as written by "
               "the Export tab here or `python -m nst styles export`.")
    pack = st.file_uploader("Style pack", type=["zip"], key="add:pack")
    conflict = st.radio("When a name is already taken", ["skip", "rename", "error"], horizontal=True,
                        format_func={"skip": "Skip that style", "rename": "Add it under a new name",
                                     "error": "Import nothing"}.get, key="add:conflict")
    if pack is not None and st.button("Import the pack", type="primary", icon=":material/upload:"):
        from db.packs import import_pack

        st.caption("Every image is checked before anything is added: press Stop (top right) or leave the page "
                   "to cancel, and nothing is added.")
        bar = st.progress(0.0, text="Checking the pack…")

        def show(done: int, total: int) -> None:  # also where Streamlit stops the run when the user cancels
            bar.progress(done / total if total else 1.0, text=f"Checking image {done} of {total}…")

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "pack.zip"
            path.write_bytes(pack.getvalue())
            try:
                report = import_pack(library, path, on_conflict=conflict, progress=show)
                bar.empty()
                st.success(md(report.summary()), icon=":material/check_circle:")
            except NSTError as exc:
                bar.empty()
                st.error(md(exc), icon=":material/error:")

with export_tab:
    st.caption("A .zip of the chosen styles with their names, artists, years, credits and tags, to import on "
               "another machine (here under Import a style pack, or `python -m nst styles import`).")
    every_style = library.list_styles()
    by_id = {s.id: s for s in every_style}
    own = [s.id for s in every_style if s.source == "upload"]
    # the user's own styles (else all) until the user chooses; the choice is kept in a plain entry
    chosen = st.session_state.get("add:export:chosen", own or list(by_id))
    st.session_state["add:export:ids"] = [i for i in chosen if i in by_id]
    picked = st.multiselect("Styles to export", list(by_id), key="add:export:ids",
                            format_func=lambda i: by_id[i].name, placeholder="Choose the styles to export",
                            on_change=lambda: st.session_state.update(
                                {"add:export:chosen": list(st.session_state["add:export:ids"])}))
    if st.button(f"Make a pack of {len(picked)} style{'s' if len(picked) != 1 else ''}", icon=":material/inventory_2:",
                 disabled=not picked, key="add:export:make"):
        from db.packs import export_pack

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = export_pack(library, picked, Path(folder) / "styles.zip")
                st.session_state["add:export:pack"] = (tuple(picked), path.read_bytes())
            except NSTError as exc:
                st.error(md(exc), icon=":material/error:")
    made = st.session_state.get("add:export:pack")
    if made and list(made[0]) == picked:
        names = [by_id[i].name for i in made[0] if i in by_id]
        stem = "style-pack-" + ("-".join(n.lower() for n in names[:2]) + ("-and-more" if len(names) > 2 else ""))
        st.download_button(f"Download the pack ({len(made[1]) / 2**20:.1f} MB)", made[1],
                           file_name=re.sub(r"[^a-z0-9-]+", "-", stem)[:80].strip("-") + ".zip",
                           mime="application/zip", type="primary", icon=":material/download:", key="add:export:zip")
