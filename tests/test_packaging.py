"""The built wheel alone runs the service: templates, static files, catalogues, fonts, demo
tenants and migrations all ship, and `widget-server demo` serves from a fresh virtualenv."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "widget_server"

# One file per kind of package data the service reads at run time.
NEEDED = (
    "widget_server/templates/widget/login.html",
    "widget_server/templates/email/login.txt",
    "widget_server/static/embed.js",
    "widget_server/static/widget.css",
    "widget_server/locale/messages.pot",
    "widget_server/locale/sk/LC_MESSAGES/messages.po",
    "widget_server/fonts/DejaVuSans.ttf",
    "widget_server/fonts/LICENSE",
    "widget_server/demo/tenants/demo.toml",
    "widget_server/migrations/env.py",
    "widget_server/migrations/script.py.mako",
    "widget_server/migrations/versions/0001_initial_schema.py",
)


def run(args: list[str | Path], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; on failure, the assertion shows its output."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    assert result.returncode == 0, (
        f"{args} exited {result.returncode}\n--- stdout\n{result.stdout}\n"
        f"--- stderr\n{result.stderr}")
    return result


def copy_source(dest: Path) -> Path:
    """The project's root files and its package, without build leftovers: setuptools builds
    in the source tree, so building a copy keeps build/ out of the checkout and keeps a stale
    build/lib (or the other checkouts' state) out of the wheel."""
    for path in ROOT.iterdir():
        if path.is_file():
            shutil.copy2(path, dest / path.name)
    shutil.copytree(ROOT / PACKAGE, dest / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def without_project_env() -> dict[str, str]:
    """The environment minus anything that could point Python at the checkout or configure
    the service (pip settings stay: they say where packages come from on this machine)."""
    return {key: value for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
            and not key.startswith("WIDGET_")}


def test_wheel_installs_and_serves_the_demo():
    with tempfile.TemporaryDirectory(prefix="widget-wheel-", ignore_cleanup_errors=True) as t:
        tmp = Path(t).resolve()
        assert not tmp.is_relative_to(ROOT), "the temporary directory must be outside the checkout"
        source, wheels, venv, workdir = (tmp / n for n in ("src", "wheels", "venv", "work"))
        for folder in (source, workdir):
            folder.mkdir()

        # Build isolation (pip's default, as for `pip install .`) brings the declared
        # setuptools>=68; the project venv's own setuptools cannot build wheels by itself.
        copy_source(source)
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source],
            timeout=300, env=without_project_env())
        (wheel,) = wheels.glob("widget_server-*.whl")
        names = set(zipfile.ZipFile(wheel).namelist())
        missing = [name for name in NEEDED if name not in names]
        assert not missing, f"not in the wheel: {missing}"
        shipped = {path.relative_to(source).as_posix()
                   for path in (source / PACKAGE).rglob("*") if path.is_file()}
        assert shipped <= names, f"not in the wheel: {sorted(shipped - names)}"

        run([sys.executable, "-m", "venv", venv], timeout=120, env=without_project_env())
        python = venv / "bin" / "python"
        run([python, "-m", "pip", "install", "-q", wheel], timeout=600,
            env=without_project_env(), cwd=workdir)

        # A bare environment and an empty working directory: nothing of the checkout in reach.
        env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.defpath}", "HOME": str(workdir),
               "LANG": "C.UTF-8"}
        module = run([python, "-c", "import widget_server; print(widget_server.__file__)"],
                     timeout=60, env=env, cwd=workdir).stdout.strip()
        assert Path(module).resolve().is_relative_to(venv), module
        assert not Path(module).resolve().is_relative_to(ROOT), module

        port = free_port()
        out, err = workdir / "stdout.txt", workdir / "stderr.txt"
        with out.open("w") as stdout, err.open("w") as stderr:
            server = subprocess.Popen([venv / "bin" / "widget-server", "demo", "--port", str(port)],
                                      cwd=workdir, env=env, stdout=stdout, stderr=stderr)

        def output() -> str:
            return f"--- stdout\n{out.read_text()}\n--- stderr\n{err.read_text()}"

        try:
            url = f"http://127.0.0.1:{port}/t/demo/login"
            response = None
            deadline = time.monotonic() + 90  # migrating and loading the demo come first
            with httpx.Client(trust_env=False, timeout=5) as client:
                while response is None:
                    assert server.poll() is None, f"demo exited {server.returncode}\n{output()}"
                    assert time.monotonic() < deadline, f"no answer from {url}\n{output()}"
                    try:
                        response = client.get(url)
                    except httpx.TransportError:
                        time.sleep(0.25)
            assert response.status_code == 200, f"{response.status_code}\n{output()}"
            page = response.text
            assert "<form" in page and 'type="email"' in page, page

            server.send_signal(signal.SIGINT)  # what Ctrl+C does; uvicorn shuts down cleanly
            assert server.wait(timeout=30) == 0, output()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=10)
