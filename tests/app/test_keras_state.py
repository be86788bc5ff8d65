"""The app keeps its VGG19 engine's Keras state between script runs, without changing Keras for anyone else.

Streamlit clears Keras' session after every script run; in this app, whose progress panel re-runs every
second, that rebuilt TensorFlow's kernels at every VGG19 pass (renders three times slower than on the
command line). ``ui.services`` holds that clean-up back for Keras only, during Streamlit's clean-up only:
``keras.backend.clear_session`` stays Keras' own function for every other caller in the process.
"""

from __future__ import annotations


def test_script_runs_keep_keras_state_and_keras_keeps_its_clear_session(app, engine):
    import keras
    from keras.src.backend.common import global_state

    assert keras.backend.clear_session is global_state.clear_session
    before = keras.backend.get_uid("nst-app-test")  # Keras' counters restart when its session is cleared
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.switch_page("ui/style.py").run()
    assert not at.exception
    assert keras.backend.get_uid("nst-app-test") == before + 1, "a script run cleared Keras' session"
    assert keras.backend.clear_session is global_state.clear_session, "Keras' own function was replaced"
