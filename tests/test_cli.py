"""The rnn-widgets command: clear messages when something is missing, and export from the command line."""
import importlib.util

import pytest

from rnn_widgets import cli


def test_gallery_without_voila_says_which_extra_to_install(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "voila" else real(name, *a))
    assert cli.main(["gallery"]) == 2
    assert "pip install 'rnn-widgets[gallery]'" in capsys.readouterr().err


def test_gallery_without_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no example notebooks found"):
        cli.find_examples(str(tmp_path))
    assert cli.find_examples().name == "examples"


def test_export_command_writes_pages_and_rejects_unknown_names(tmp_path, capsys):
    assert cli.main(["export", "--out", str(tmp_path), "TopologiesWidget"]) == 0
    assert (tmp_path / "TopologiesWidget.html").exists() and (tmp_path / "index.html").exists()
    assert cli.main(["export", "--out", str(tmp_path), "Nope"]) == 2
    assert "unknown widget" in capsys.readouterr().err


def test_gallery_stops_voila_and_its_kernels_on_sigterm(tmp_path):
    import subprocess
    import sys
    import time

    from browser_support import free_port, wait_for_url

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.cli", "gallery", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_url(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=90)
    proc.terminate()
    proc.wait(timeout=30)
    time.sleep(1)
    out = subprocess.run(["pgrep", "-f", f"--port={port}"], capture_output=True, text=True).stdout
    assert out.strip() == "", "Voila outlived the gallery command"
    assert f"http://127.0.0.1:{port}/voila/render/00_tour.ipynb" in proc.stdout.read()
