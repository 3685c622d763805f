"""Batch work in chunks, with a progress bar on a terminal.

The batch API is all or nothing per call.  On a terminal, 100 or more
containers are handled in calls of :data:`CHUNK` so a bar can move; each
call is then all or nothing on its own (docs/cli.md says so).  Elsewhere
(pipes, files, tests) the whole batch is one call and nothing is drawn.
"""

from __future__ import annotations

import sys

CHUNK = 50
THRESHOLD = 100


def chunks(items: list, what: str):
    """Yield slices of ``items``; one slice unless stderr is a terminal
    and there are at least :data:`THRESHOLD` items (then a bar is shown)."""
    if len(items) < THRESHOLD or not sys.stderr.isatty():
        yield items
        return
    from tqdm import tqdm               # only now: a terminal and a batch
    with tqdm(total=len(items), desc=what, unit="ctr", file=sys.stderr,
              leave=False) as bar:
        for i in range(0, len(items), CHUNK):
            part = items[i:i + CHUNK]
            yield part
            bar.update(len(part))
