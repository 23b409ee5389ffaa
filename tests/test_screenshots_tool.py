"""tools/screenshots.py does not rot: what it drives in the hosts still exists (host-free, fast).

The tool itself runs the real Krita and GIMP (minutes, under the host lock), so it is not part
of the test run; these checks catch what breaks it silently: an objectName the Krita shots
use that the docker no longer has, a batch_cases.py helper the GIMP shots borrow that was
renamed, the harness parameters it passes, and its picture and PNG steps.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
KRITA_SHOTS = ROOT / "tests" / "hosts" / "krita" / "inner" / "shots_krita.py"
GIMP_SHOTS = ROOT / "tests" / "hosts" / "gimp" / "shots_gimp.py"


def load_tool():
    spec = importlib.util.spec_from_file_location(
        "screenshots_tool", ROOT / "tools" / "screenshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["screenshots_tool"] = module
    spec.loader.exec_module(module)
    return module


def test_krita_shots_use_only_object_names_the_docker_has():
    source = KRITA_SHOTS.read_text(encoding="utf-8")
    used = set(re.findall(r'"(gptImage[A-Za-z]+)"', source))
    assert {"gptImageResults", "gptImageRefine", "gptImageHistoryList"} <= used
    plugin = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "krita_plugin").glob("*.py"))
    defined = set(re.findall(r'"(gptImage[A-Za-z]+)"', plugin))
    defined |= {f"{name}Toggle" for name in defined}  # sections.py names its toggle button so
    assert used <= defined, sorted(used - defined)


def test_krita_shots_are_not_collected_by_the_inner_suite():
    ini = (KRITA_SHOTS.parent / "pytest.ini").read_text(encoding="utf-8")
    assert "python_files" not in ini  # pytest's default, test_*.py: shots_krita.py stays out
    assert not KRITA_SHOTS.name.startswith("test_")
    names = [n.name for n in ast.parse(KRITA_SHOTS.read_text()).body if hasattr(n, "name")]
    assert all("shot" in n for n in names if n.startswith("test_"))  # the tool's -k shot


def test_gimp_shots_borrow_helpers_batch_cases_still_defines():
    borrowed = set(re.findall(r'_cases\["(\w+)"\]', GIMP_SHOTS.read_text(encoding="utf-8")))
    assert {"_shot", "_widgets", "_plugin_modules", "OUT", "EDIT"} <= borrowed
    tree = ast.parse((GIMP_SHOTS.parent / "batch_cases.py").read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in (n for n in tree.body if isinstance(n, ast.Assign)):
        defined |= {t.id for t in ast.walk(node.targets[0]) if isinstance(t, ast.Name)}
    assert borrowed <= defined, sorted(borrowed - defined)


def test_the_harnesses_take_what_the_tool_passes():
    sys.path.insert(0, str(ROOT / "tests" / "hosts"))
    sys.path.insert(0, str(ROOT / "tests" / "hosts" / "gimp"))
    import gimp_harness

    params = inspect.signature(gimp_harness.run_gimp).parameters
    assert {"script", "extra_files", "host"} <= set(params)
    tool = load_tool()
    assert (ROOT / "tests" / "hosts" / "gimp" / tool.GIMP_SCRIPT).is_file()
    assert (ROOT / "tests" / "hosts" / "krita" / "inner" / tool.KRITA_MODULE).is_file()


def test_picture_and_palette_png(tmp_path):
    tool = load_tool()
    scene = tool.landscape()
    assert scene.size == (1200, 800) and scene.mode == "RGB"
    assert len(scene.getcolors(1 << 20) or ()) > 1000  # a picture, not a flat fill
    path = tmp_path / "shot.png"
    scene.save(path)
    before = path.stat().st_size
    tool.shrink(path)
    with Image.open(path) as small:
        assert small.mode == "P" and small.size == (1200, 800)
    assert path.stat().st_size < before
