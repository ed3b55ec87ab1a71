"""Execute a notebook headless in a real kernel and save the result.

    python notebooks/run.py notebooks/quickstart.ipynb

With no GEMINI_API_KEY / GOOGLE_API_KEY (and no Vertex AI settings) the kernel
runs with GEMINI_MAGIC_OFFLINE=1, so every %%gemini cell is answered by the
local offline demo server. With a key set, it asks the real Gemini API.
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def has_credentials(env) -> bool:
    return bool(env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")) or env.get(
        "GOOGLE_GENAI_USE_VERTEXAI", ""
    ).lower() in ("1", "true")


def main(argv):
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} NOTEBOOK.ipynb")
    source = Path(argv[1]).resolve()
    if has_credentials(os.environ):
        mode = "real Gemini API (key from the environment)"
    else:
        os.environ["GEMINI_MAGIC_OFFLINE"] = "1"  # the kernel inherits this environment
        mode = "offline demo server (set GEMINI_API_KEY to use real Gemini)"
    print(f"Running {source.name} against the {mode} ...", flush=True)

    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    client.execute()

    target = HERE / "executed" / source.name
    target.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, target)
    print(f"Executed notebook written to {target}")


if __name__ == "__main__":
    main(sys.argv)
