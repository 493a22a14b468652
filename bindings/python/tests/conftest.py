"""Test setup. Environment (meson sets it; see bindings/python/meson.build):
  BITNET_LIBRARY       the libbitnet.so to test (else the system loader's)
  BITNET_TEST_MODEL    the bundled model (default: models/default.gguf here)
  BITNET_CLI           bitnet-cli, for the same-output tests (skipped without)
  BITNET_CC, BITNET_INCLUDE  compiler and include/ for the header tests
  BITNET_TEST_NO_NUMPY=1     run as if numpy were not installed
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

if os.environ.get("BITNET_TEST_NO_NUMPY") == "1":
    sys.modules["numpy"] = None  # type: ignore[assignment]  # import numpy now fails

sys.path.insert(0, str(Path(__file__).parent))
import bitnet  # noqa: E402

SOURCE_ROOT = Path(__file__).resolve().parents[3]


def pytest_report_header() -> str:
    return (f"libbitnet {bitnet.version()} ABI {bitnet.api_version()}, "
            f"numpy {'used' if bitnet.have_numpy() else 'not used'}, package {bitnet.__file__}")


@pytest.fixture(scope="session")
def model_path() -> str:
    return os.environ.get("BITNET_TEST_MODEL", str(SOURCE_ROOT / "models" / "default.gguf"))


@pytest.fixture(scope="session")
def model(model_path: str) -> Iterator[bitnet.Model]:
    with bitnet.Model(model_path) as m:
        yield m


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("BITNET_CLI")
    if not path:
        pytest.skip("BITNET_CLI is not set (meson sets it to build/examples/bitnet-cli)")
    return path
