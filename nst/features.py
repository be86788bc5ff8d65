"""The VGG19 multi-layer feature extractor.

Keras' VGG19 (``weights=None``, no top, any H x W) is built once and loaded from
:mod:`nst.weights`; :meth:`FeatureExtractor.model_for` returns a model whose
outputs are just the requested layers, so nothing past the deepest of them is
ever computed. Inputs are RGB images in [0, 1], shaped (1, H, W, 3).
"""

from __future__ import annotations

from functools import lru_cache

from . import backend  # noqa: F401  (configures TensorFlow before Keras is imported)
import keras  # noqa: E402
from keras import ops  # noqa: E402

from . import weights as weights_mod  # noqa: E402
from .errors import ParameterError  # noqa: E402

LAYERS = weights_mod.LAYERS
#: Channels of each layer's output.
CHANNELS: dict[str, int] = {name: cout for name, _, cout in weights_mod.CONV_LAYERS}

#: Caffe's BGR means, as in ``keras.applications.vgg19.preprocess_input``.
BGR_MEAN = (103.939, 116.779, 123.68)


def check_layers(names) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ParameterError(f"Unknown VGG19 layer(s) {', '.join(unknown)}; choose from {', '.join(LAYERS)}.")
    return names


def preprocess(image):
    """[0, 1] RGB -> VGG19's input: BGR, 0-255, mean-centred (Keras' caffe mode)."""
    bgr = ops.flip(image, axis=-1) * 255.0
    return bgr - ops.convert_to_tensor(BGR_MEAN, dtype=bgr.dtype)


class FeatureExtractor:
    """VGG19 features at chosen layers, computed only as deep as needed."""

    def __init__(self, weights_info: weights_mod.WeightsInfo, layer_weights: weights_mod.LayerWeights,
                 precision: str = "float32"):
        self.weights_info = weights_info
        self.precision = precision
        with backend.lock():
            previous = keras.config.dtype_policy()
            keras.config.set_dtype_policy(backend.dtype_policy(precision))
            try:
                self._vgg = keras.applications.VGG19(
                    weights=None, include_top=False, input_shape=(None, None, 3)
                )
            finally:
                keras.config.set_dtype_policy(previous)
        for name, (kernel, bias) in layer_weights.items():
            self._vgg.get_layer(name).set_weights([kernel, bias])
        self._vgg.trainable = False
        self._models: dict[tuple[str, ...], keras.Model] = {}

    @property
    def id(self) -> str:
        """Identifies weights and arithmetic: anything cached from features depends on both."""
        return f"{self.weights_info.id}-{self.precision}"

    def model_for(self, names) -> keras.Model:
        """A model from the preprocessed image to the named layers' outputs (in the order given)."""
        names = check_layers(names)
        if names not in self._models:
            outputs = [self._vgg.get_layer(name).output for name in names]
            self._models[names] = keras.Model(self._vgg.input, outputs, name="vgg19_" + "_".join(names))
        return self._models[names]

    def raw(self, image, names) -> list:
        """Features of a [0, 1] RGB batch at ``names``, in the compute dtype."""
        outputs = self.model_for(names)(preprocess(image))
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def __call__(self, image, names) -> list:
        """Features of a [0, 1] RGB batch at ``names`` as float32 tensors."""
        return [ops.cast(out, "float32") for out in self.raw(image, names)]


@lru_cache(maxsize=2)
def load_extractor(precision: str = "auto") -> FeatureExtractor:
    """The process-wide extractor (weights located, verified and read once)."""
    precision = backend.resolve_precision(precision)
    info, layer_weights = weights_mod.load()
    return FeatureExtractor(info, layer_weights, precision)
