"""core.sdk_import: the SDK imported with its re-export indexes deferred gives the same names as
the eager import, imports a fraction of its modules, and never turns a shape it doesn't know
into a broken import. Each import runs in a fresh interpreter (``sys.modules`` is per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.sdk_import import reexports

ROOT = Path(__file__).resolve().parent.parent


def run(code: str, *paths: Path) -> object:
    """Run ``code`` in a fresh interpreter (the project and ``paths`` importable); its last line
    of output, parsed as JSON."""
    path = [str(ROOT), *map(str, paths)]
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {path!r}\n" + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- reading a package's __init__ ---------------------------------------------------------------


def test_a_re_export_index_is_read_name_by_name() -> None:
    source = b'''"""Doc."""
from __future__ import annotations
from .batch import Batch as Batch
from .chat.completion import Completion, Choice as Choice
from . import shared
from .sub import sub
'''
    assert reexports(source) == {
        "annotations": ("__future__", "annotations"),
        "batch": (".batch", None),
        "Batch": (".batch", "Batch"),
        "chat": (".chat", None),
        "Completion": (".chat.completion", "Completion"),
        "Choice": (".chat.completion", "Choice"),
        "shared": (".shared", None),
        "sub": (".sub", "sub"),  # the name imported from .sub wins over the submodule
    }


@pytest.mark.parametrize(
    "source",
    [
        b"from .a import *\n",  # names unknown until run
        b"from .a import A\nVERSION = '1'\n",  # does something besides re-exporting
        b"import os\n",
        b"from os import path\n",  # not from its own submodules
        b"from .a import A\nif A:\n    pass\n",
        b"def f():\n    pass\n",
    ],
)
def test_anything_but_re_exports_is_imported_as_usual(source: bytes) -> None:
    assert reexports(source) is None


# -- a package tree of the test's own ---------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``pkg`` (does more than re-export), ``pkg.types`` (only re-exports), ``pkg.impure``."""
    files = {
        "pkg/__init__.py": "from . import types\nLOADED = True\n",
        "pkg/types/__init__.py": (
            "from .a import A as A\nfrom .b import B as B, helper\nfrom .gone import G as G\n"
        ),
        "pkg/types/a.py": "import sys\nsys.modules['pkg'].ran = getattr(sys.modules['pkg'], 'ran', []) + ['a']\nclass A: ...\n",
        "pkg/types/b.py": "class B: ...\ndef helper(): ...\n",
        "pkg/types/extra.py": "X = 1\n",
        "pkg/types/broken.py": "import no_such_module_here\n",
        "pkg/impure/__init__.py": "import sys\nsys.modules['pkg'].impure_ran = True\nfrom .c import C as C\n",
        "pkg/impure/c.py": "class C: ...\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_names_are_imported_when_first_asked_for(tree: Path) -> None:
    got = run(
        """
        import json, sys
        from core.sdk_import import install
        install("pkg")
        import pkg, pkg.types
        before = sorted(m for m in sys.modules if m.startswith("pkg."))
        A = pkg.types.A
        from pkg.types import B, helper
        extra = pkg.types.extra.X
        print(json.dumps({
            "before": before,
            "after": sorted(m for m in sys.modules if m.startswith("pkg.")),
            "ran": pkg.ran,
            "same": A is sys.modules["pkg.types.a"].A and B is sys.modules["pkg.types.b"].B,
            "helper": helper.__name__,
            "kept": "A" in vars(pkg.types),
            "submodule": extra,
        }))
        """,
        tree,
    )
    assert got == {
        "before": ["pkg.types"],
        "after": ["pkg.types", "pkg.types.a", "pkg.types.b", "pkg.types.extra"],
        "ran": ["a"],
        "same": True,
        "helper": "helper",
        "kept": True,
        "submodule": 1,
    }


def test_two_copies_of_the_module_share_one_finder_and_never_recurse(tree: Path) -> None:
    """A Krita package bundles its own ``core`` beside the one on ``sys.path``: when both were
    imported in one process their finders asked each other for the real spec until the stack
    ran out (found when a test imported the Krita package's copy before the suite's own)."""
    got = run(
        f"""
        import importlib.util, json, sys
        from core import sdk_import
        spec = importlib.util.spec_from_file_location("copy_sdk_import", {str(ROOT / "core" / "sdk_import.py")!r})
        copy = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(copy)
        sys.meta_path.insert(0, copy.DeferredReexportFinder("pkg"))
        sdk_import.install("pkg")  # another copy already defers pkg: no second finder
        sdk_import.install("other")
        import pkg, pkg.types
        print(json.dumps({{
            "finders": sorted(f.package for f in sys.meta_path if hasattr(f, "package")),
            "A": pkg.types.A.__name__,
        }}))
        """,
        tree,
    )
    assert got == {"finders": ["other", "pkg"], "A": "A"}


def test_unknown_names_and_missing_modules_fail_as_the_eager_import_would(tree: Path) -> None:
    got = run(
        """
        import json
        from core.sdk_import import install
        install("pkg")
        import pkg.types as t
        outcomes = {}
        for name in ("Nope", "__wrapped__", "G", "broken"):
            try:
                getattr(t, name)
                outcomes[name] = "found"
            except AttributeError:
                outcomes[name] = "AttributeError"
            except ModuleNotFoundError as error:
                outcomes[name] = f"ModuleNotFoundError {error.name}"
        outcomes["hasattr"] = hasattr(t, "Nope")
        print(json.dumps(outcomes))
        """,
        tree,
    )
    assert got == {
        "Nope": "AttributeError",
        "__wrapped__": "AttributeError",
        "G": "ModuleNotFoundError pkg.types.gone",
        "broken": "ModuleNotFoundError no_such_module_here",
        "hasattr": False,
    }


def test_dir_and_star_import_see_every_name(tree: Path) -> None:
    (tree / "pkg/types/__init__.py").write_text("from .a import A as A\nfrom .b import B as B\n")
    got = run(
        """
        import json
        from core.sdk_import import install
        install("pkg")
        import pkg.types
        listed = [n for n in dir(pkg.types) if not n.startswith("_")]
        from pkg.types import *
        print(json.dumps({"dir": listed, "star": [n for n in ("A", "B", "a", "b") if n in globals()]}))
        """,
        tree,
    )
    assert got == {"dir": ["A", "B", "a", "b"], "star": ["A", "B", "a", "b"]}


def test_a_package_that_does_more_runs_its_init(tree: Path) -> None:
    got = run(
        """
        import json
        from core.sdk_import import install
        install("pkg")
        import pkg, pkg.impure
        print(json.dumps([pkg.LOADED, pkg.impure_ran, "C" in vars(pkg.impure)]))
        """,
        tree,
    )
    assert got == [True, True, True]


def test_threads_asking_for_the_same_names_get_the_same_objects(tree: Path) -> None:
    got = run(
        """
        import json, threading
        from core.sdk_import import install
        install("pkg")
        import pkg.types
        seen, start = [], threading.Barrier(8)
        def ask():
            start.wait()
            seen.append((id(pkg.types.A), id(pkg.types.B)))
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps([len(seen), len(set(seen)), pkg.ran]))
        """,
        tree,
    )
    assert got == [8, 1, ["a"]]


# -- the real SDK -------------------------------------------------------------------------------

#: Every public name of every package the deferred import left unexecuted, as module:qualname.
NAMES = """
import json, sys, types
from core.sdk_import import DeferredReexports, load_openai
openai = load_openai() if DEFERRED else __import__("openai")
import openai.types, openai.types.responses, openai.types.chat, openai.lib
packages = ["openai.types", "openai.types.responses", "openai.types.chat", "openai.lib"]
loaded = sum(1 for m in sys.modules if m.startswith("openai"))
deferred = [p for p in packages if isinstance(sys.modules[p].__spec__.loader, DeferredReexports)]
def key(value):
    if isinstance(value, types.ModuleType):
        return value.__name__
    if hasattr(value, "__qualname__"):  # classes and functions
        return f"{value.__module__}:{value.__qualname__}"
    return repr(value)  # type aliases (unions, literals) show what they stand for
def public(p):
    return ASKED[p] if ASKED else [n for n in dir(sys.modules[p]) if not n.startswith("_")]
names = {p: {n: key(getattr(sys.modules[p], n)) for n in public(p)} for p in packages}
print(json.dumps({"loaded": loaded, "deferred": deferred, "names": names}))
"""


def test_the_sdk_gives_the_same_names_from_a_fraction_of_its_modules() -> None:
    eager = run("DEFERRED, ASKED = False, None\n" + NAMES)
    asked = {package: sorted(names) for package, names in eager["names"].items()}
    deferred = run(f"DEFERRED, ASKED = True, {asked!r}\n" + NAMES)
    assert eager["deferred"] == []
    assert "openai.types" in deferred["deferred"], "the SDK's type index is not deferred"
    for package, names in eager["names"].items():  # thousands of names, submodules included
        differ = {n: v for n, v in names.items() if deferred["names"][package][n] != v}
        assert not differ, f"{package}: {sorted(differ)[:10]}"
    assert sum(map(len, eager["names"].values())) > 500


def test_the_client_needs_a_fraction_of_the_sdk() -> None:
    code = """
    import json, sys
    from core.sdk_import import load_openai
    openai = load_openai()
    openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1").images
    print(json.dumps(sum(1 for m in sys.modules if m.startswith("openai"))))
    """
    eager = run(code.replace("load_openai()", "__import__('openai')"))
    major = int(run("import json, openai; print(json.dumps(openai.__version__.split('.')[0]))"))
    # openai 2.x's client imports every resource and so nearly every type: nothing to gain
    # there (tried: 802 of 985 modules with 2.35), but never more than the eager import
    assert run(code) < (eager / 3 if major >= 3 else eager + 1)
