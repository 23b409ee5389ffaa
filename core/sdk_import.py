"""Import the ``openai`` SDK without running its generated re-export indexes up front.

``import openai`` executes ``openai/types/__init__.py``, which imports every type of every API
(about 700 modules: chat, responses, evals, realtime…) for the sake of names like
``openai.types.Batch``. That is nine tenths of the SDK's import time, a third of a second on
this project's machines, and a CLI ``edit`` cannot send its request before it is done; the
image client itself uses a few dozen of those modules.

:func:`load_openai` imports the real SDK, unchanged, with one difference: a package of it whose
``__init__.py`` does nothing but re-export names from its own submodules (``from .x import Y as
Y``) gets a module ``__getattr__`` instead of being executed, and each re-exported name is
imported from its submodule when it is first looked up (so is a submodule of it, as the eager
import would have made it an attribute too). Every lookup gives the same object as the eager
import would; ``dir()`` and ``from … import *`` see every name. A package
whose ``__init__`` does anything else (``openai`` itself, for one) is imported as it always is,
so an SDK release that changes shape degrades to the plain import, never to a broken one.

Standard library only: it runs on the CLI's preload thread before anything else is imported.
"""

from __future__ import annotations

import ast
import importlib
import sys
import threading
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

#: The SDK's top-level package: only its subpackages are ever deferred.
PACKAGE = "openai"

#: A re-exported name → (the submodule it comes from, relative, or ``__future__``; the attribute
#: there, or None when the name is the submodule itself).
Reexports = dict[str, tuple[str, str | None]]

_LOCK = threading.Lock()


def load_openai() -> ModuleType:
    """The ``openai`` module, imported with its re-export-only packages deferred (once per
    process; when something imported the SDK earlier, that import is what is returned)."""
    install()
    import openai

    return openai


def install(package: str = PACKAGE) -> None:
    """Put a deferring finder for ``package`` first on ``sys.meta_path`` (once per package;
    idempotent, thread-safe)."""
    with _LOCK:
        mine = [f for f in sys.meta_path if _defers(f)]
        if all(finder.package != package for finder in mine):
            sys.meta_path.insert(0, DeferredReexportFinder(package))


def reexports(source: bytes) -> Reexports | None:
    """What a package's ``__init__`` source re-exports, or None when it does anything besides
    re-exporting from its own submodules (a docstring and ``from __future__`` are allowed)."""
    names: Reexports = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            names.update((alias.name, ("__future__", alias.name)) for alias in node.names)
            continue  # binds the feature's name, as any from-import does
        if not isinstance(node, ast.ImportFrom) or node.level != 1:
            return None
        if node.module is not None:  # importing .sub.x binds the package's name "sub" too
            top = node.module.split(".")[0]
            names.setdefault(top, ("." + top, None))
        for alias in node.names:
            if alias.name == "*":
                return None
            bound = alias.asname or alias.name
            if node.module is None:  # from . import sub
                names[bound] = ("." + alias.name, None)
            else:  # from .sub import Name
                names[bound] = ("." + node.module, alias.name)
    return names


def _defers(finder: object) -> bool:
    """A deferring finder of any copy of this module (a Krita package bundles its own ``core``
    beside the one on ``sys.path``): two copies that each asked the other for the real spec
    recursed without end, so each skips the other's as it skips its own."""
    return getattr(finder, "defers_reexports", False) is True


class DeferredReexportFinder:
    """A meta-path finder for the SDK's packages: it asks the finders after it for the real
    spec, and swaps the loader of a re-export-only package for :class:`DeferredReexports`."""

    defers_reexports = True

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> ModuleSpec | None:
        if not fullname.startswith(self.package + "."):
            return None  # the top-level package itself does more than re-export
        spec = self._real_spec(fullname, path, target)
        if spec is None or spec.submodule_search_locations is None:
            return spec
        names = _package_reexports(spec)
        if names is not None:
            spec.loader = DeferredReexports(names, spec.loader)
        return spec

    def _real_spec(self, fullname: str, path: Any, target: Any) -> ModuleSpec | None:
        for finder in sys.meta_path:
            if _defers(finder):
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                return spec
        return None


def _package_reexports(spec: ModuleSpec) -> Reexports | None:
    """The re-exports of the package ``spec`` describes; None when they can't be read (then it
    is imported as usual)."""
    read = getattr(spec.loader, "get_data", None)
    if read is None or not spec.origin or not spec.origin.endswith("__init__.py"):
        return None
    try:
        return reexports(read(spec.origin))
    except (OSError, SyntaxError, ValueError):
        return None


class DeferredReexports:
    """Loader of a re-export-only package: the module is made as usual but its ``__init__`` is
    not run; a module-level ``__getattr__`` imports each name from its submodule when first
    asked for, and keeps it."""

    def __init__(self, names: Reexports, real_loader: Any) -> None:
        self.names = names
        self.real_loader = real_loader

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        names, package = self.names, module.__name__

        def __getattr__(name: str) -> Any:
            if name.startswith("__") and name not in names:  # dunders are never submodules
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            submodule, attribute = names.get(name, ("." + name, None))
            try:
                value: Any = importlib.import_module(submodule, package)
            except ModuleNotFoundError as error:  # not a name of this package after all
                if error.name != package + submodule or name in names:
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
            if attribute is not None:
                value = getattr(value, attribute)
            setattr(module, name, value)
            return value

        def __dir__() -> list[str]:
            return sorted(set(module.__dict__) | set(names))

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        module.__dir__ = __dir__  # type: ignore[attr-defined]
        module.__all__ = [name for name in names if not name.startswith("_")]  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        """Everything else a loader is asked (its source, package data) is the real one's."""
        return getattr(self.real_loader, name)
