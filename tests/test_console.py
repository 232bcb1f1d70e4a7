"""The `kg` console script keeps the neo4j driver from importing numpy, pandas and pyarrow, which
kg never hands it; importing kg as a library does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kg.console import DRIVER_EXTRAS_KG_DOES_NOT_USE


def test_the_kg_process_does_not_import_what_the_driver_would_use_of_numpy_pandas_pyarrow(tmp_path: Path) -> None:
    # Stand-ins that shadow any installed copy and say when they are imported.
    site = tmp_path / "site"
    for name in DRIVER_EXTRAS_KG_DOES_NOT_USE:
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text(f"import sys\nsys.stderr.write('imported {name}\\n')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    def run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    library = run("import kg.cli")  # as a library: the driver imports them (the test can see it)
    assert "imported numpy" in library.stderr
    command = run("from kg.console import main; main()", "neo4j", "status", "--data-dir", str(tmp_path / "none"))
    assert command.returncode == 1 and "stopped" in command.stdout, command.stderr
    assert "imported" not in command.stderr
