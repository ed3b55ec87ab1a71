"""gemini_magic: stream Gemini answers into Jupyter notebooks.

    %load_ext gemini_magic

    %%gemini -m gemini-2.5-flash -t 0.2 --out summary
    Explain what a p-value is, for a first-year student.

The answer streams into a live Markdown view and is kept in ``summary`` and in
``_gemini`` (always the latest answer). Defaults are traitlets config::

    %config GeminiMagics.model = "gemini-2.5-pro"

No API key at hand? ``%%gemini --offline`` (or ``GEMINI_MAGIC_OFFLINE=1``) answers
from a local demo server that speaks the Gemini protocol. ``%%gemini?`` lists
every option.
"""

__version__ = "0.1.0"

# Only the magics are imported on %load_ext; everything heavy (google.genai,
# ipywidgets, markdown) is imported on first use so loading stays instant.


def load_ipython_extension(ipython):
    from .magics import GeminiMagics, keep_question_marks

    ipython.register_magics(GeminiMagics)
    if keep_question_marks not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(keep_question_marks)
    from .views import probe

    probe.start(ipython)  # background: warm-up, and whether the front end draws the live widget


def unload_ipython_extension(ipython):
    from .magics import GeminiMagics, keep_question_marks

    if keep_question_marks in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(keep_question_marks)

    magics = ipython.magics_manager.registry.pop(GeminiMagics.__name__, None)
    for kind in ("line", "cell"):
        if ipython.magics_manager.magics[kind].get("gemini") is not None:
            del ipython.magics_manager.magics[kind]["gemini"]
    # Magics.__init__ added it to the shell's configurables: a stale one would answer %config.
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, GeminiMagics)]
    if magics is not None:
        magics.close()


def __getattr__(name):
    # Lazy public names: `from gemini_magic import GeminiResponse` without
    # paying for it on %load_ext.
    if name in ("GeminiResponse", "Usage"):
        from . import response

        return getattr(response, name)
    if name == "map":  # gemini_magic.map(template, data): many prompts at once
        from .many import map

        return map
    raise AttributeError(f"module 'gemini_magic' has no attribute {name!r}")
