"""The Krita plug-in's start-up import, outside Krita: Qt loaded first, a minimal ``krita``.

Krita imports every enabled plug-in package while it starts, with its own PyQt already loaded.
``probe()`` reproduces that in a fresh interpreter: it lays the package out as install.py does
(``gpt_image/`` = ``krita_plugin/*`` + ``core/``), imports PyQt, puts a minimal ``krita`` module
in ``sys.modules`` (the few classes the plug-in touches at import), then times ``import
gpt_image`` and reports what it loaded and registered. Used by ``tests/bench_pipeline.py``
(row ``plugin_import``) and ``tests/test_plugin_import.py``.

Needs an interpreter with PyQt5 or PyQt6: this one, else Debian's ``/usr/bin/python3`` with
python3-pyqt5 (the Python Debian's Krita embeds); the dependencies stay findable through this
interpreter's site-packages, appended to the child's path after Qt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "openai", "PIL", "pydantic")

#: The child: Qt first (Krita has it loaded), then the stand-in ``krita``, then the timed import.
CHILD = r"""
import json, sys, time, types
config = json.loads(sys.argv[1])
try:
    from PyQt5 import QtGui  # noqa: F401  (Krita has all three loaded)
    from PyQt5.QtCore import QObject
    from PyQt5.QtWidgets import QApplication, QDockWidget
except ImportError:
    from PyQt6 import QtGui  # noqa: F401
    from PyQt6.QtCore import QObject
    from PyQt6.QtWidgets import QApplication, QDockWidget
sys.path.extend(config["site"])
for name in config["missing"]:
    sys.modules[name] = None  # not found: find_spec gives None, import raises ImportError


class _FailingLoader:
    "Stands for a package that is there but cannot load (wrong build for this Python, say)."
    def __init__(self, name):
        self.name = name
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        raise ImportError(f"{self.name} is broken (probe)", name=self.name)


class _Broken:
    def find_spec(self, name, path=None, target=None):
        if name not in config["broken"]:
            return None
        import importlib.machinery
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None:
            spec.loader = _FailingLoader(name)
        return spec


sys.meta_path.insert(0, _Broken())

krita = types.ModuleType("krita")
registered = {"extensions": [], "factories": []}
class DockWidget(QDockWidget):
    def canvasChanged(self, canvas):
        pass
class DockWidgetFactoryBase:
    class DockPosition:
        DockRight = 2
class DockWidgetFactory:
    def __init__(self, name, position, klass):
        self.name, self.position, self.klass = name, position, klass
    def createDockWidget(self):
        return self.klass()
class Extension(QObject):
    def __init__(self, parent=None):
        super().__init__(parent)
class _Krita(QObject):
    def addExtension(self, extension):
        registered["extensions"].append(type(extension).__name__)
    def addDockWidgetFactory(self, factory):
        registered["factories"].append(factory)
    def activeDocument(self):
        return None
    def activeWindow(self):
        return None
class Krita:
    _app = None
    @classmethod
    def instance(cls):
        if cls._app is None:
            cls._app = _Krita()
        return cls._app
krita.DockWidget, krita.DockWidgetFactory = DockWidget, DockWidgetFactory
krita.DockWidgetFactoryBase, krita.Extension, krita.Krita = DockWidgetFactoryBase, Extension, Krita
sys.modules["krita"] = krita
sys.path.insert(0, config["pykrita"])

started = time.perf_counter()
import gpt_image
import_ms = (time.perf_counter() - started) * 1000
loaded = [name for name in config["heavy"] if name in sys.modules and sys.modules[name] is not None]
report = {
    "import_ms": round(import_ms, 2),
    "loaded": loaded,
    "import_error": gpt_image.IMPORT_ERROR,
    "extensions": registered["extensions"],
    "factories": [f.name for f in registered["factories"]],
}
if config["create_docker"] and registered["factories"]:
    app = QApplication.instance() or QApplication(["probe"])
    docker = registered["factories"][0].createDockWidget()
    status = docker.findChild(QObject, "gptImageStatus")
    report["docker"] = type(docker).__name__
    report["docker_status"] = status.text() if status is not None else None
print("PROBE " + json.dumps(report))
"""


def qt_python() -> str | None:
    """An interpreter that has PyQt5/PyQt6: this one, else Debian's system Python."""
    if find_spec("PyQt5") or find_spec("PyQt6"):
        return sys.executable
    for candidate in ("/usr/bin/python3",):
        if Path(candidate).exists():
            proc = subprocess.run(
                [candidate, "-c", "import PyQt5.QtWidgets"], capture_output=True, check=False
            )
            if proc.returncode == 0:
                return candidate
    return None


def layout_plugin(target: Path) -> Path:
    """``target/gpt_image`` as install.py lays it out (krita_plugin + core); returns pykrita."""
    package = target / "gpt_image"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "krita_plugin", package, ignore=ignore)
    shutil.copytree(ROOT / "core", package / "core", ignore=ignore)
    return target


def probe(
    *,
    pykrita: Path | None = None,
    missing: tuple[str, ...] = (),
    broken: tuple[str, ...] = (),
    create_docker: bool = False,
    env: dict[str, str] | None = None,
    python: str | None = None,
) -> dict:
    """One fresh-interpreter import of the plug-in; its report (see ``CHILD``).

    ``pykrita`` is a folder from ``layout_plugin`` to reuse (its byte code is then warm, as in a
    Krita that has started before); by default a fresh one.
    """
    python = python or qt_python()
    if python is None:
        raise RuntimeError("no Python with PyQt5/PyQt6 (apt-get install python3-pyqt5)")
    site = [p for p in {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")} if p]
    with tempfile.TemporaryDirectory(prefix="gpt-plugin-import-") as tmp:
        pykrita = pykrita or layout_plugin(Path(tmp))
        config = {
            "site": site,
            "pykrita": str(pykrita),
            "heavy": list(HEAVY),
            "missing": list(missing),
            "broken": list(broken),
            "create_docker": create_docker,
        }
        child_env = {
            "QT_QPA_PLATFORM": "offscreen",
            "PATH": "/usr/bin:/bin",
            "HOME": tmp,
            "GPT_IMAGE_CONFIG_DIR": str(Path(tmp) / "config"),
            "GPT_IMAGE_DATA_DIR": str(Path(tmp) / "data"),
            "XDG_RUNTIME_DIR": tmp,
            **(env or {}),
        }
        proc = subprocess.run(
            [python, "-I", "-c", CHILD, json.dumps(config)],
            capture_output=True,
            text=True,
            env=child_env,
            timeout=120,
            check=False,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE "):
            report = json.loads(line[6:])
            report["stderr"] = proc.stderr
            report["python"] = python
            return report
    raise RuntimeError(f"the import probe failed (rc {proc.returncode}):\n{proc.stderr}")


def median_import_ms(runs: int = 7) -> dict:
    """The bench row: median start-up import over ``runs`` fresh interpreters (byte code warm)."""
    with tempfile.TemporaryDirectory(prefix="gpt-plugin-layout-") as tmp:
        pykrita = layout_plugin(Path(tmp))
        probe(pykrita=pykrita)  # the first start compiles the byte code, as Krita's does once
        reports = [probe(pykrita=pykrita) for _ in range(runs)]
    times = sorted(r["import_ms"] for r in reports)
    return {
        "import_ms": times[len(times) // 2],
        "import_ms_runs": times,
        "heavy_loaded": sorted({name for r in reports for name in r["loaded"]}),
        "import_error": reports[0]["import_error"],
        "python": reports[0]["python"],
    }
