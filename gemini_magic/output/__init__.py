"""Everything a user sees of an answer once it is done, composed in one place.

- ``final``: one answer's saved output (inert Markdown, plain text, provenance);
- ``sections``: the thoughts and sources around an answer;
- ``fenced``: ``-f text`` / ``-f json`` answers as fenced blocks;
- ``summary``: the saved output of a many-prompt run.
"""
