"""The configuration shipped in conf/ is valid: `-t` accepts it as installed
(prefix with conf/, logs/ and html/)."""
import pathlib
import shutil
import subprocess

from conftest import BIN, NAME

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.portico_only
def test_shipped_config_passes_t(tmp_path):
    for d in ("conf", "logs", "html"):
        (tmp_path / d).mkdir()
    shutil.copy(ROOT / "conf" / "portico.conf", tmp_path / "conf")
    shutil.copy(ROOT / "conf" / "mime.types", tmp_path / "conf")
    shutil.copy(ROOT / "conf" / "html" / "index.html", tmp_path / "html")
    r = subprocess.run([BIN, "-p", str(tmp_path) + "/", "-c", "conf/portico.conf", "-t"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert "%s: configuration file" % NAME in r.stderr and "test is successful" in r.stderr
