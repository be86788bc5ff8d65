"""The VGG19 multi-layer feature extractor.

Keras' VGG19 (``weights=None``, no top, any H x W) is built once and loaded from
:mod:`nst.weights`; :meth:`FeatureExtractor.model_for` returns a model whose
outputs are just the requested layers, so nothing past the deepest of them is
ever computed. Inputs are RGB images in [0, 1], shaped (1, H, W, 3).

With ``wrap=True`` the same weights run on a torus: every 3x3 convolution is
preceded by a one-pixel circular padding (and runs unpadded) instead of
Keras' zero "same" padding, and a feature map of odd size is closed into an
even one by repeating its first row or column before it is pooled. The
features of an image rolled by any multiple of the deepest layer's stride are
then the rolled features, and a texture optimised through them has no edge:
it tiles without a seam. Gradients are exact (padding is slicing and
concatenation).
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


class WrapPad(keras.layers.Layer):
    """Circular padding by one pixel on each side of H and W (the input of a 3x3 convolution)."""

    def call(self, x):
        x = ops.concatenate([x[:, -1:], x, x[:, :1]], axis=1)
        return ops.concatenate([x[:, :, -1:], x, x[:, :, :1]], axis=2)

    def compute_output_shape(self, shape):
        grow = lambda n: None if n is None else n + 2  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])


class WrapEven(keras.layers.Layer):
    """An odd H or W made even by repeating the first row or column after the last (the input of a 2x2
    pooling): the pooled map still closes on itself instead of dropping the last row or column."""

    def call(self, x):
        shape = ops.shape(x)
        x = ops.concatenate([x, x[:, : shape[1] % 2]], axis=1)
        return ops.concatenate([x, x[:, :, : shape[2] % 2]], axis=2)

    def compute_output_shape(self, shape):
        even = lambda n: None if n is None else n + n % 2  # noqa: E731
        return (shape[0], even(shape[1]), even(shape[2]), shape[3])


def _torus_copy(vgg: keras.Model) -> keras.Model:
    """VGG19 with the same weights, seeing its input as a torus (see the module's docstring)."""
    x = inputs = keras.Input((None, None, 3))
    for layer in vgg.layers[1:]:
        if isinstance(layer, keras.layers.Conv2D):
            x = WrapPad(name=layer.name + "_wrap")(x)
            conv = keras.layers.Conv2D(layer.filters, layer.kernel_size, padding="valid",
                                       activation=layer.activation, name=layer.name)
            x = conv(x)
            conv.set_weights(layer.get_weights())
        elif isinstance(layer, keras.layers.MaxPooling2D):
            x = WrapEven(name=layer.name + "_even")(x)
            x = keras.layers.MaxPooling2D(layer.pool_size, layer.strides, name=layer.name)(x)
        else:
            raise TypeError(f"Unexpected layer {layer.name} in VGG19")
    model = keras.Model(inputs, x, name="vgg19_torus")
    model.trainable = False
    return model


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
        self._torus: keras.Model | None = None  # built on first use (textures that tile)
        self._models: dict[tuple[tuple[str, ...], bool], keras.Model] = {}

    @property
    def id(self) -> str:
        """Identifies weights and arithmetic: anything cached from features depends on both."""
        return f"{self.weights_info.id}-{self.precision}"

    def _network(self, wrap: bool) -> keras.Model:
        if not wrap:
            return self._vgg
        with backend.lock(), backend.eager():  # eager: the first use may come while a function is traced
            if self._torus is None:
                previous = keras.config.dtype_policy()
                keras.config.set_dtype_policy(backend.dtype_policy(self.precision))
                try:
                    self._torus = _torus_copy(self._vgg)
                finally:
                    keras.config.set_dtype_policy(previous)
            return self._torus

    def model_for(self, names, wrap: bool = False) -> keras.Model:
        """A model from the preprocessed image to the named layers' outputs (in the order given);
        ``wrap``: on the torus (circular padding) instead of zero padding."""
        names = check_layers(names)
        key = (names, bool(wrap))
        if key not in self._models:
            network = self._network(wrap)
            outputs = [network.get_layer(name).output for name in names]
            prefix = "vgg19_torus_" if wrap else "vgg19_"
            self._models[key] = keras.Model(network.input, outputs, name=prefix + "_".join(names))
        return self._models[key]

    def raw(self, image, names, wrap: bool = False) -> list:
        """Features of a [0, 1] RGB batch at ``names``, in the compute dtype."""
        outputs = self.model_for(names, wrap)(preprocess(image))
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def __call__(self, image, names, wrap: bool = False) -> list:
        """Features of a [0, 1] RGB batch at ``names`` as float32 tensors."""
        return [ops.cast(out, "float32") for out in self.raw(image, names, wrap)]


def load_extractor(precision: str = "auto") -> FeatureExtractor:
    """The process-wide extractor (weights located, verified and read once); ``auto``: as ``NST_PRECISION``
    says, else what the machine computes fastest (:func:`nst.backend.resolve_precision`)."""
    return _load_extractor(backend.resolve_precision(precision))


@lru_cache(maxsize=2)
def _load_extractor(precision: str) -> FeatureExtractor:
    info, layer_weights = weights_mod.load()
    return FeatureExtractor(info, layer_weights, precision)
