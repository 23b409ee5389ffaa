"""numpy, imported on first use.

Only 16-bit and float pictures and crops padded past the canvas edge need numpy, while its
import costs about a tenth of a second on every CLI start and every Krita docker load (as
``pixels._numpy`` says for host pixels). Modules write ``from .lazynp import np`` and use
``np.…`` as usual; annotations stay strings (``from __future__ import annotations``).
"""

from __future__ import annotations

import importlib
from typing import Any


class _OnFirstUse:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


np: Any = _OnFirstUse("numpy")
