"""The `kg` console script: what the `kg` process alone does before the command line loads.

The neo4j driver imports numpy, pandas and pyarrow whenever they are installed, to pack their values
and for `Result.to_df()`, neither of which kg uses. In an environment that has them (most ML setups)
that cost every `kg` command ~0.3-0.45 s and ~50 MB of RSS before any work. The `kg` process hides
them from its own imports; importing kg as a library (or `python -m kg.cli`) leaves them alone.
"""

from __future__ import annotations

import sys

DRIVER_EXTRAS_KG_DOES_NOT_USE: tuple[str, ...] = ("numpy", "pandas", "pyarrow")


def main() -> None:
    for name in DRIVER_EXTRAS_KG_DOES_NOT_USE:
        # None makes `import name` raise ImportError, as when it is not installed; one already
        # imported (kg run from a program that uses it) stays.
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    from kg.cli import main as cli_main

    cli_main()
