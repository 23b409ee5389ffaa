"""The installer's host-discovery context for tests: everything it would read from this
machine (environment, PATH, library folders, application folders, host Pythons) under
``tmp_path`` or given, so discovery never sees the real system."""

from __future__ import annotations

from pathlib import Path

from installer import hosts


def ctx_for(tmp_path: Path, system: str, env=None, which=(), lib_dirs=(), versions=None):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base_env = {
        "FLATPAK_USER_DIR": str(tmp_path / "fu"),
        "FLATPAK_SYSTEM_DIR": str(tmp_path / "fs"),
    }
    base_env.update(env or {})
    return hosts.Context(
        system=system,
        env=base_env,
        home=home,
        which=lambda name: f"/usr/bin/{name}" if name in which else None,
        lib_dirs=tuple(lib_dirs),
        run_python=lambda exe: (versions or {}).get(exe),
        system_app_dirs=(tmp_path / "opt",),
        mac_apps=tmp_path / "Applications",
    )
