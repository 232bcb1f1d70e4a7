"""The hardening tests use the benchmark's vault generator (`bench/`, not an installed package)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture
def anyio_backend() -> str:
    """The API test runs the app in the test's own event loop (httpx's ASGI transport), on asyncio."""
    return "asyncio"
