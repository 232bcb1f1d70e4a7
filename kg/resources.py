"""Where the files kg reads at run time live: `schema/` in a checkout, `kg/_schema/` in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """The schema folder: the wheel copy (kg/_schema) or the checkout's top-level schema/."""
    for candidate in (_PACKAGE_DIR / "_schema", _PACKAGE_DIR.parent / "schema"):
        if (candidate / "constraints.cypher").is_file():
            return candidate
    raise FileNotFoundError(f"kg's schema folder is missing (looked in {_PACKAGE_DIR / '_schema'} and ../schema)")


def sample_vault_dir() -> Path:
    return _PACKAGE_DIR / "sample_vault"
