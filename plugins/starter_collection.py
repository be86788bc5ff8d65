"""Built-in style collection: seven public-domain paintings to browse and paint with on first start.

This is an ordinary plugin: it contributes ``STYLES`` exactly as a third-party
style pack written as a plugin would, so it is also the example to copy for
"adding styles by a plugin file". The images live beside it, in
``starter_collection/`` (long side at most 1024 px). Each style carries its
artist, year and credit; ``sample`` (when a file ``samples/<image>`` exists) is a
result made with it by this project's engine, shown on the gallery card until
you paint with the style yourself.

Remove this file (or put ``starter_collection`` in ``NST_DISABLED_PLUGINS``) and
the collection is no longer offered; styles already in your library stay, and
your own styles and renders are never touched.
"""

from __future__ import annotations

from pathlib import Path

from nst.plugin import StyleContribution

FOLDER = Path(__file__).with_name("starter_collection")
PUBLIC_DOMAIN = "Public domain (the artist died more than 70 years ago). Image: {origin}."
NEURAL_STYLE = "the examples of jcjohnson/neural-style"
FAST_NEURAL_STYLE = "the examples of jcjohnson/fast-neural-style"


def _reader(name: str):
    path = FOLDER / name
    return lambda: path.read_bytes()


def _sample(name: str):
    path = FOLDER / "samples" / name
    return (lambda: path.read_bytes()) if path.is_file() else None


def _painting(file: str, name: str, artist: str, year: str, origin: str, tags: tuple[str, ...],
              description: str, **suggested) -> StyleContribution:
    return StyleContribution(
        name, make=_reader(file), artist=artist, year=year, tags=("starter", *tags), description=description,
        credit=PUBLIC_DOMAIN.format(origin=origin), sample=_sample(file), suggested_params=suggested or None,
    )


STYLES = [
    _painting("starry-night.jpg", "The Starry Night", "Vincent van Gogh", "1889", NEURAL_STYLE,
              ("post-impressionism", "night", "swirls"),
              "Swirling night sky over Saint-Rémy in thick, rhythmic strokes of blue and yellow."),
    _painting("the-scream.jpg", "The Scream", "Edvard Munch", "1893", NEURAL_STYLE,
              ("expressionism", "orange", "waves"),
              "A blood-orange sky and wavering lines over a fjord: long, flowing bands of colour."),
    _painting("woman-with-a-hat.jpg", "Woman with a Hat", "Henri Matisse", "1905", NEURAL_STYLE,
              ("fauvism", "portrait", "colourful"),
              "Fauvism at its start: loose patches of unmixed green, violet and orange."),
    _painting("great-wave.jpg", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831", FAST_NEURAL_STYLE,
              ("ukiyo-e", "woodblock", "sea", "blue"),
              "Woodblock print: flat Prussian blue, crisp outlines and claw-like foam."),
    _painting("composition-vii.jpg", "Composition VII", "Wassily Kandinsky", "1913", FAST_NEURAL_STYLE,
              ("abstract", "colourful"),
              "Kandinsky's densest abstraction: colliding shapes, lines and colour fields."),
    _painting("udnie.jpg", "Udnie (Young American Girl, The Dance)", "Francis Picabia", "1913", FAST_NEURAL_STYLE,
              ("cubism", "abstract"),
              "Cubist fragments of a dancer in cool blues, greys and warm accents."),
    _painting("wreck-of-a-transport-ship.jpg", "The Wreck of a Transport Ship", "J. M. W. Turner", "c. 1810",
              "the examples of lengstrom/fast-style-transfer", ("romanticism", "sea", "storm"),
              "Also called The Shipwreck of the Minotaur: a storm at sea in churning browns and greys."),
]
