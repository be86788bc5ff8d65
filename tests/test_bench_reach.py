"""``python -m bench quality --reach``: the steps a start saves are counted on the final scale's images only,
from the render's first step, and "reached" is the first step at or under the Gram distance asked for."""

import numpy as np

from bench.quality import StepImages, first_reach
from nst.progress import Progress


class MeanScorer:
    """A stand-in judge: an image's "Gram distance" is its mean (the real judge is VGG19's, slow)."""

    def gram_distance(self, image, grams):
        return float(image.mean())


def test_only_the_final_scales_images_are_scored_with_the_steps_counted_from_the_start():
    steps = StepImages()
    for step, size, value in [(1, (32, 24), 0.0), (2, (32, 24), 0.0), (3, (64, 48), 0.9), (4, (64, 48), 0.5),
                              (5, (64, 48), 0.4), (6, (64, 48), 0.45)]:
        steps(Progress(step=step, total=6, elapsed=0.0, size=size,
                       image=np.full((size[1], size[0], 3), value, dtype=np.float32)))
    steps(Progress(step=7, total=7, elapsed=0.0, size=(64, 48)))  # a step without its image: not scored
    curve = steps.curve(MeanScorer(), None, (48, 64, 3))
    assert [s for s, _ in curve] == [3, 4, 5, 6]
    assert np.allclose([d for _, d in curve], [0.9, 0.5, 0.4, 0.45])
    assert first_reach(curve, 0.45) == 5
    assert first_reach(curve, 0.5) == 4
    assert first_reach(curve, 0.3) is None
