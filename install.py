#!/usr/bin/env python3
"""Install the gpt-image plug-ins into every Krita and GIMP 3 on this machine.

    python install.py                  # every Krita and GIMP 3 found
    python install.py --help           # all options
    python install.py --uninstall      # remove exactly what was installed

Each plug-in gets its own copy of core/ and a vendor/ folder with openai, pydantic, pillow and
numpy built for *that host's* Python (sandboxed and bundled hosts have no pip and their Python
is not yours). Needs only Python >= 3.8 with pip; no other packages. The rules for finding hosts
and their Python versions are in installer/hosts.py (table at the top); the installed layout and
manifest in installer/deploy.py.
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
