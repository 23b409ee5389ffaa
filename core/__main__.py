"""``python -m core``: the CLI, its slow imports started first, left without tearing down.

``startup`` begins importing the SDK for commands that call the API, and reading ``edit``'s
image, before the CLI itself is imported. Once ``main`` has returned, every output and history file is
written and closed; what is left is Python's finalization (freeing every module and object of
the SDK, pydantic, numpy, the images), a tenth of a second to half a second. ``leave`` ends the
process instead, after everything an exit must still do (threads, ``atexit``, flushed streams).
"""

import sys

from .startup import preload, read_early

preload(sys.argv[1:])
read_early(sys.argv[1:])

from .cli import main  # noqa: E402  (after the preload has started)
from .cli.runtime import leave  # noqa: E402

leave(main())
