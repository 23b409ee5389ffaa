"""The Krita 5.1 mask template, checked as a file (loading it in real Krita is in ``inner/``).

Krita rejects a .kra whose ``mimetype`` entry isn't first and stored, and Krita 5.1 shows a
"problems opening" dialog when a paint layer lacks its device, default pixel or ICC profile;
these are the cheap ways to break the template, caught here without starting Krita.
"""

from __future__ import annotations

import importlib.util
import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from PIL import ImageCms

MODULE = Path(__file__).resolve().parents[3] / "krita_plugin" / "mask_template.py"
KRA = "{http://www.calligra.org/DTD/krita}"


def load_module():
    spec = importlib.util.spec_from_file_location("mask_template", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mimetype_comes_first_and_stored():
    kra = zipfile.ZipFile(io.BytesIO(load_module().template_kra()))
    first = kra.infolist()[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
    assert kra.read("mimetype") == b"application/x-krita"


def test_every_node_has_its_files():
    module = load_module()
    kra = zipfile.ZipFile(io.BytesIO(module.template_kra()))
    root = ET.fromstring(kra.read("maindoc.xml"))
    image = root.find(f"{KRA}IMAGE")
    folder = f"{image.get('name')}/layers/"
    layer = image.find(f"{KRA}layers/{KRA}layer")
    mask = layer.find(f"{KRA}masks/{KRA}mask")
    assert layer.get("nodetype") == "paintlayer"
    assert mask.get("nodetype") == "transparencymask"

    device = kra.read(folder + layer.get("filename")).decode("ascii")
    assert "PIXELSIZE 4\n" in device and device.endswith("DATA 0\n")
    assert kra.read(folder + layer.get("filename") + ".defaultpixel") == bytes(4)
    profile = ImageCms.ImageCmsProfile(
        io.BytesIO(kra.read(folder + layer.get("filename") + ".icc"))
    )
    assert ImageCms.getProfileDescription(profile).strip()

    selection = folder + mask.get("filename") + ".pixelselection"
    assert kra.read(selection).decode("ascii").endswith("PIXELSIZE 1\nDATA 0\n")
    assert kra.read(selection + ".defaultpixel") == b"\0"  # nothing masked in outside the patch
