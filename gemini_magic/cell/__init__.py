"""One cell, in three steps: plan (the request it sends), run (stream it into a view), keep
(the variables, the chat turn, the replay record, and the message of an incomplete answer).

- ``plan``: :class:`CellPlan` and :class:`CellRequest`, built from the parsed line;
- ``modes``: the cells that send no answer (``--count``, ``--dry-run``, ``--reset``);
- ``run``: :class:`Run`, one answer being made, and :class:`Running`, the answers under way;
- ``keep``: what stays once the answer is made.

Only ``plan`` is imported on ``%load_ext``; the rest (and the SDK) on a cell's first use.
"""
