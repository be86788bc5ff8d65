"""The plugin printed in docs/plugins.md ("Writing a plugin") works as printed."""

import re

import numpy as np

from nst.plugin import RunInputs
from nst.registry import Registry
from tests.docs import read_doc
from tests.factories import make_photo


def test_the_readme_plugin_loads_and_runs(plugin_dir):
    section = read_doc("plugins.md").split("# Writing a plugin", 1)[1]
    source = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    plugin_dir.write("sepia.py", source)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False)
    info = registry.plugins[0]
    assert info.ok, info.error
    assert info.filters == ["sepia"] and info.styles == ["Paper"]
    result = registry.run("sepia", RunInputs(content=make_photo(), styles=[], style_weights=[]),
                          {"strength": 1.0})
    image = result.array()
    assert image.shape == (72, 96, 3)
    # Sepia: red >= green >= blue everywhere.
    assert np.all(image[..., 0] >= image[..., 1] - 1e-6) and np.all(image[..., 1] >= image[..., 2] - 1e-6)
    assert registry.check("sepia", RunInputs(content=make_photo(), styles=[], style_weights=[]),
                          {"preset": "subtle"})["strength"] == 0.4
