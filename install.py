#!/usr/bin/env python3
r"""Install the gpt-image plug-ins into every Krita and GIMP 3 on this machine.

    python install.py                  # every Krita and GIMP 3 found
    python install.py --help           # all options
    python install.py --uninstall      # remove exactly what was installed

Each plug-in gets its own copy of core/ and a vendor/ folder with openai, pydantic, pillow and
numpy built for *that host's* Python (sandboxed and bundled hosts have no pip and their Python
is not yours). Needs only Python >= 3.8 with pip; no other packages. Finding hosts:
installer/hosts.py; installed layout and manifest: installer/deploy.py; pip: installer/vendor.py.

Where it installs (explicit --krita-dir / --gimp-dir turn discovery off):

| host          | plug-in folder                                    | enabled by                    |
|---------------|---------------------------------------------------|-------------------------------|
| Krita Linux   | $XDG_DATA_HOME/krita/pykrita/ (~/.local/share)    | $XDG_CONFIG_HOME/kritarc      |
| Krita Flatpak | ~/.var/app/org.kde.krita/data/krita/pykrita/      | ~/.var/app/org.kde.krita/config/kritarc |
| Krita Windows | %APPDATA%\krita\pykrita\                          | %LOCALAPPDATA%\kritarc        |
| Krita macOS   | ~/Library/Application Support/krita/pykrita/      | ~/Library/Preferences/kritarc |
| GIMP 3 Linux  | $XDG_CONFIG_HOME/GIMP/3.*/plug-ins/ (or $GIMP3_DIRECTORY) | pluginrc deleted      |
| GIMP Flatpak  | ~/.var/app/org.gimp.GIMP/config/GIMP/3.*/plug-ins/ | pluginrc deleted             |
| GIMP Snap     | ~/snap/gimp/current/.config/GIMP/3.*/plug-ins/    | pluginrc deleted              |
| GIMP Windows  | refused: its MSYS2 Python loads none of PyPI's wheels (README: GIMP on Windows) |
| GIMP macOS    | ~/Library/Application Support/GIMP/3.*/plug-ins/  | pluginrc deleted              |

Host Python assumptions (used only when the host's files cannot be inspected; --python-version
always wins):

| host build                          | Python | how it is detected                                   |
|-------------------------------------|--------|------------------------------------------------------|
| Krita, Linux distribution package   | system | libpython3.X named in kritaplugins/kritapykrita.so    |
|                                     |        | (bookworm Krita 5.1.5: 3.11; trixie 5.2: 3.13)        |
| Krita AppImage                      | its own| libpython3.X extracted by the AppImage itself        |
|                                     |        | (--appimage-extract; see below where it is looked for)|
| Krita self-built, nothing found     | 3.10   | assumed                                              |
| Krita 5.2 Windows installer         | 3.10   | python3XX.dll in <Program Files>/Krita (x64)/bin      |
| Krita 5.2 macOS bundle              | 3.10   | Python.framework/Versions/3.X in krita.app            |
|   (Krita 5.3 / 6 builds bundle 3.13: found by the same inspection)                        |
| Krita Flatpak (org.kde.krita)       | 3.10   | lib/python3.X in the app or its runtime              |
| GIMP 3, Linux distribution package  | system | interpreters/pygimp.interp -> that python3 --version  |
|                                     |        | (trixie GIMP 3.0.4: 3.13)                             |
| GIMP 3 Windows installer (MSYS2)    | 3.12   | lib/python3.X in <Program Files>/GIMP 3; refused     |
|   unless --platform is given: PyPI's win_amd64 wheels do not load in MSYS2's Python       |
| GIMP 3 macOS bundle                 | 3.12   | lib/python3.X in GIMP.app                             |
| GIMP 3.0 Flatpak (GNOME 47/48 rt)   | 3.12   | lib/python3.X in the app or its runtime              |
| GIMP 3.2 Flatpak (GNOME 49 rt)      | 3.13   | same                                                 |
| GIMP 3 Snap                         | 3.12   | /snap/gimp/current/usr/lib/python3.X                  |

AppImages: the one `krita` on PATH runs, else krita*.AppImage in ~/Applications, ~/AppImages,
~/Downloads, ~/Desktop, ~/.local/bin, ~/bin and /opt (newest first). Flatpak: "lib/python3.X"
is looked up under $FLATPAK_USER_DIR (~/.local/share/flatpak) and $FLATPAK_SYSTEM_DIR
(/var/lib/flatpak). An AppImage Krita shares ~/.local/share/krita with a
distro Krita; if both exist the distro's Python is used: pass --python-version for the
AppImage's. Wheels: manylinux_2_28 down to manylinux2014 for this CPU (capped at this machine's
glibc), win_amd64, macosx_11_0_{arm64,x86_64}; --platform replaces them. musl Linux is not
supported. pip resolves with the host's Python for Requires-Python *and* environment markers
(installer/vendor.py), so e.g. Krita 5.2's 3.10 gets exceptiongroup even from a 3.12 installer.
"""

import sys

if sys.version_info < (3, 8):  # noqa: UP036 - users run this with whatever python3 they have
    sys.exit("install.py needs Python 3.8 or newer (this is {}.{})".format(*sys.version_info[:2]))

from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from installer.cli import run  # noqa: E402

if __name__ == "__main__":
    sys.exit(run(default_source=HERE))
