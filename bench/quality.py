"""Quality against the reference implementation: ``python -m bench quality``.

For each reference pair (a photo, a painting, and the published 512-px result
of jcjohnson/neural-style: VGG19, L-BFGS for 1000 iterations on a GPU) it
paints the photo with each preset and scores every result, the reference's
too, with two distances measured by us on VGG19 (float32, whatever the
engine's precision):

* **Gram distance** to the painting: for ``block1_conv1`` ... ``block5_conv1``,
  ``|G(result) - G(painting)| / |G(painting)|`` (Frobenius norms, Gram
  matrices normalised by the number of positions), averaged over the layers;
  the painting is resized to the result's long side first, so both are seen
  at the same scale. Lower: the result has more of the painting's textures
  and colours.
* **Content distance** to the photo: ``|F(result) - F(photo)|^2 / |F(photo)|^2``
  at ``block4_conv2``, the photo resized to the result's size. Lower: more of
  the photo is kept.

Times are the render's wall time in this process (style targets computed
afresh for every run, as for a new style; the command's start-up, about the
same for every preset, is measured once and printed). ``today`` is the
``quality`` preset as it was before the schedule by cost, kept here as the
yardstick for time ratios.

Prints a table, writes ``quality.md``, ``quality.json`` and one side-by-side
image per pair (photo, painting, reference, then each preset) to
``bench/results/<time>/``. The inputs are looked for in ``../shared`` beside
the project unless ``--images`` and ``--references`` say where.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from nst import images, presets
from nst.files import write_atomic
from nst.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYER = "block4_conv2"
#: (name, photo, painting): the reference result is ``<name>.png``.
PAIRS = (
    ("tubingen_starry", "tubingen.jpg", "starry_night.jpg"),
    ("tubingen_scream", "tubingen.jpg", "the_scream.jpg"),
    ("tubingen_composition_vii", "tubingen.jpg", "composition_vii.jpg"),
    ("golden_gate_starry", "golden_gate.jpg", "starry_night.jpg"),
    ("golden_gate_scream", "golden_gate.jpg", "the_scream.jpg"),
    ("golden_gate_matisse", "golden_gate.jpg", "woman-with-hat-matisse.jpg"),
    ("golden_gate_escher", "golden_gate.jpg", "escher_sphere.jpg"),
)
#: The quality preset before the schedule by cost (8 steps a scale, a few more at the coarse ones).
TODAY = Settings(size=512, steps=8, coarse_steps=1.05, content_weight=0.1, tv_weight=0.0)


class Scorer:
    """The two distances, on a float32 VGG19 of its own."""

    def __init__(self):
        from nst.engine import Engine

        self.engine = Engine(precision="float32")

    def _features(self, pixels: np.ndarray, layer: str) -> np.ndarray:
        features = self.engine.features(pixels, layer)[0]
        return features.reshape(-1, features.shape[-1]).astype(np.float64)

    def grams(self, pixels: np.ndarray) -> list[np.ndarray]:
        grams = []
        for layer in STYLE_LAYERS:
            f = self._features(pixels, layer)
            grams.append(f.T @ f / f.shape[0])
        return grams

    def painting_grams(self, painting: Image.Image, long_side: int) -> list[np.ndarray]:
        w, h = images.fit_long_side(painting.width, painting.height, long_side)
        return self.grams(images.to_array(images.resize(painting, (w, h))))

    def gram_distance(self, result: np.ndarray, painting_grams: list[np.ndarray]) -> float:
        ours = self.grams(result)
        return float(np.mean([np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(ours, painting_grams)]))

    def content_distance(self, result: np.ndarray, photo: Image.Image) -> float:
        target = self._features(images.to_array(images.resize(photo, (result.shape[1], result.shape[0]))),
                                CONTENT_LAYER)
        ours = self._features(result, CONTENT_LAYER)
        return float(np.sum((ours - target) ** 2) / np.sum(target ** 2))


def variants(names: list[str], tries: list[str]) -> dict[str, Settings]:
    chosen = {}
    for name in names:
        chosen[name] = TODAY if name == "today" else presets.get(name, "transfer")
    for spec in tries:  # "label:base:key=value,key=value", e.g. "coarse:quality:coarse_steps=2"
        label, base, *rest = spec.split(":")
        changes = {}
        for item in (_items(rest[0]) if rest and rest[0] else []):
            key, value = item.split("=", 1)
            try:
                changes[key] = json.loads(value)
            except ValueError:  # a bare word: a string
                changes[key] = value
        chosen[label] = (TODAY if base == "today" else presets.get(base, "transfer")).replace(**changes)
    return chosen


def _items(text: str) -> list[str]:
    """``a=1,b=[1,2],c=x`` -> ``["a=1", "b=[1,2]", "c=x"]``: commas inside brackets stay with their value."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return items + [current] if current else items


def startup_seconds() -> float:
    """Wall time of ``python -m nst weights`` (imports, TensorFlow, the weights check): a command's fixed cost."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nst", "weights"], cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - started


def _strip(pictures: list[tuple[str, np.ndarray | Image.Image]], height: int = 256) -> Image.Image:
    tiles = []
    for label, picture in pictures:
        pil = picture if isinstance(picture, Image.Image) else images.to_pil(picture)
        pil = pil.convert("RGB")
        pil = pil.resize((max(1, round(pil.width * height / pil.height)), height), Image.Resampling.LANCZOS)
        tile = Image.new("RGB", (pil.width, height + 22), (255, 255, 255))
        tile.paste(pil, (0, 22))
        ImageDraw.Draw(tile).text((4, 4), label, fill=(0, 0, 0))
        tiles.append(tile)
    strip = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), height + 22), (255, 255, 255))
    x = 0
    for tile in tiles:
        strip.paste(tile, (x, 0))
        x += tile.width + 4
    return strip


def run(args) -> int:
    from nst.engine import Engine
    from nst.targets import TargetCache

    image_dir = Path(args.images) if args.images else SHARED / "images"
    reference_dir = Path(args.references) if args.references else SHARED / "references"
    missing = [p for p in (image_dir, reference_dir) if not p.is_dir()]
    if missing:
        print(f"bench quality needs the photos, paintings and reference results: {missing[0]} is not a folder "
              "(use --images and --references).", file=sys.stderr)
        return 2
    pairs = [p for p in PAIRS if not args.pairs or p[0] in args.pairs.split(",")]
    chosen = variants(args.variants.split(","), args.try_ or [])
    reach = getattr(args, "reach", None)
    if reach and reach not in chosen:
        print(f"--reach {reach}: not one of the variants run ({', '.join(chosen)}).", file=sys.stderr)
        return 2
    out = args.out
    engine, scorer = Engine(), Scorer()
    print(f"engine: {engine.weights_description}, precision {engine.extractor.precision}", flush=True)
    photo0 = images.load(image_dir / pairs[0][1])
    for name, settings in chosen.items():  # trace every size once, so no run pays for it
        engine.transfer(photo0, images.load(image_dir / pairs[0][2]),
                        settings.replace(steps=1, coarse_steps=1.0, final_steps=None))
    rows = []
    for pair, photo_name, painting_name in pairs:
        photo, painting = images.load(image_dir / photo_name), images.load(image_dir / painting_name)
        reference = images.to_array(images.load(reference_dir / f"{pair}.png"))
        target = scorer.painting_grams(painting, max(reference.shape[:2]))
        row = {"pair": pair, "reference": {"gram": scorer.gram_distance(reference, target),
                                           "content": scorer.content_distance(reference, photo)}}
        pictures = [("photo", photo), ("painting", painting), ("reference", reference)]
        for name, settings in chosen.items():
            engine.targets = TargetCache(None)  # a new style: its targets are part of the time
            steps = StepImages() if reach else None
            started = time.perf_counter()
            result = engine.transfer(photo, painting, settings, progress=steps, preview_every=1 if steps else 0)
            seconds = time.perf_counter() - started
            grams = target if max(result.image.shape[:2]) == max(reference.shape[:2]) else \
                scorer.painting_grams(painting, max(result.image.shape[:2]))
            row[name] = {"gram": scorer.gram_distance(result.image, grams),
                         "content": scorer.content_distance(result.image, photo), "seconds": seconds,
                         "steps": result.steps, "scale_steps": result.scale_steps, "stops": result.stop_reasons,
                         **({"start": result.start} if result.start else {})}
            if steps:
                row[name]["curve"] = steps.curve(scorer, grams, result.image.shape)
            images.save(result.image, out / f"{pair}-{name}.png")
            pictures.append((f"{name} {seconds:.0f}s", result.image))
            print(f"{pair} {name}: gram {row[name]['gram']:.3f} (reference {row['reference']['gram']:.3f}), "
                  f"content {row[name]['content']:.3f} (reference {row['reference']['content']:.3f}), "
                  f"{seconds:.1f} s, steps {result.scale_steps} {result.stop_reasons}", flush=True)
        strip = _strip(pictures)
        write_atomic(out / f"{pair}.jpg", lambda handle: strip.save(handle, "JPEG", quality=90))
        rows.append(row)
    startup = startup_seconds()
    if reach:
        for row in rows:
            for name in chosen:
                row[name]["reach"] = first_reach(row[name]["curve"], row[reach]["gram"])
    text = report(rows, list(chosen), startup, engine, reach)
    print("\n" + text, flush=True)
    write_atomic(out / "quality.md", (text + "\n").encode())
    write_atomic(out / "quality.json", json.dumps({"rows": rows, "startup_seconds": startup,
                                                   "settings": {k: v.as_dict() for k, v in chosen.items()}},
                                                  indent=2, default=str).encode())
    print(f"Wrote {out / 'quality.md'} and the side-by-side images ({out}/<pair>.jpg).")
    return 0


class StepImages:
    """A progress callback keeping each step's image at the largest size seen so far (the final scale's,
    once the render is over), to be scored after the render: scoring does not count in its time."""

    def __init__(self):
        self.images: list[tuple[int, np.ndarray]] = []
        self.size = (0, 0)

    def __call__(self, report) -> None:
        if report.image is None:
            return
        size = tuple(report.size)
        if size[0] * size[1] > self.size[0] * self.size[1]:
            self.images, self.size = [], size
        if size == self.size:
            self.images.append((report.step, np.array(report.image, dtype=np.float32)))

    def curve(self, scorer: Scorer, grams: list[np.ndarray], shape) -> list[tuple[int, float]]:
        """(step, Gram distance) of every step at the result's size (steps count from the render's start)."""
        return [(step, scorer.gram_distance(image, grams)) for step, image in self.images
                if image.shape[:2] == tuple(shape[:2])]


def first_reach(curve: list[tuple[int, float]], gram: float) -> int | None:
    """The first step whose image is at most ``gram`` away from the painting (None: never)."""
    return next((step for step, distance in curve if distance <= gram + 1e-9), None)


def report(rows: list[dict], names: list[str], startup: float, engine, reach: str | None = None) -> str:
    lines = [f"Render seconds in one process ({engine.extractor.precision}); a command adds about "
             f"{startup:.1f} s of start-up. Gram: distance to the painting's Gram matrices; content: to the "
             "photo's features (lower is better for both).", ""]
    head = "| pair | reference gram | reference content | " + " | ".join(
        f"{n} gram | {n} content | {n} s" for n in names) + " |"
    lines += [head, "|---" * (3 + 3 * len(names)) + "|"]
    for row in rows:
        ref = row["reference"]
        cells = [row["pair"], f"{ref['gram']:.3f}", f"{ref['content']:.3f}"]
        for n in names:
            cells += [f"{row[n]['gram']:.3f}", f"{row[n]['content']:.3f}", f"{row[n]['seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for n in names:
        wins = sum(row[n]["gram"] <= row["reference"]["gram"] for row in rows)
        kept = sum(row[n]["content"] <= 1.2 * row["reference"]["content"] for row in rows)
        seconds = statistics.median(row[n]["seconds"] for row in rows)
        ratio = ""
        if "today" in names and n != "today":
            ratio = f", {statistics.median(row[n]['seconds'] / row['today']['seconds'] for row in rows):.2f}x today's time"
        lines.append(f"- **{n}**: Gram distance at most the reference's on {wins} of {len(rows)}; content within "
                     f"1.2x the reference's on {kept} of {len(rows)}; median {seconds:.1f} s{ratio}.")
    if reach:
        lines += ["", f"Steps (VGG19 evaluations from the start, over all scales) at which each variant's image at the "
                  f"final size first had {reach}'s final Gram distance (-: never; its own best image is the one "
                  "of least loss, not of least Gram distance):", "",
                  "| pair | " + " | ".join(f"{n} steps | {n} reached {reach}'s gram at" for n in names) + " |",
                  "|---" * (1 + 2 * len(names)) + "|"]
        for row in rows:
            cells = [row["pair"]]
            for n in names:
                cells += [str(row[n]["steps"]), "-" if row[n]["reach"] is None else str(row[n]["reach"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        base = rows and {r["pair"]: r[reach] for r in rows}
        for n in names:
            if n == reach:
                continue
            gram = sum(row[n]["gram"] < row[reach]["gram"] for row in rows)
            content = sum(row[n]["content"] < row[reach]["content"] for row in rows)
            reached = [row[n]["reach"] for row in rows if row[n]["reach"] is not None]
            saved = [base[row["pair"]]["steps"] - row[n]["reach"] for row in rows if row[n]["reach"] is not None]
            lines.append(f"- **{n}** against **{reach}**: lower Gram distance on {gram} of {len(rows)}, lower content "
                         f"distance on {content} of {len(rows)}; reached {reach}'s Gram distance on {len(reached)} of "
                         f"{len(rows)}" + (f", {min(saved)} to {max(saved)} steps before {reach}'s last" if saved else "")
                         + ".")
    return "\n".join(lines)
