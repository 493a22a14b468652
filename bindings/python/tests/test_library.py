"""Finding and checking the library: an explicit path, $BITNET_LIBRARY, the
system loader; a library of another ABI or not libbitnet is refused. Each case
runs in a child process (the library is loaded once per process)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

import bitnet

LIB = bitnet.load_library()._name


def child(code: str, env_library: Optional[str] = None,
          ld_path: Optional[str] = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BITNET_LIBRARY", "LD_LIBRARY_PATH")}
    if env_library is not None:
        env["BITNET_LIBRARY"] = env_library
    if ld_path is not None:
        env["LD_LIBRARY_PATH"] = ld_path
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run([sys.executable, "-c", "import bitnet\n" + code], env=env,
                          capture_output=True, text=True, timeout=60)


def test_explicit_path() -> None:
    r = child(f"bitnet.load_library({LIB!r}); print(bitnet.api_version())",
              env_library="/nonexistent/libbitnet.so")      # the explicit path wins
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(bitnet.api_version())


def test_environment_variable() -> None:
    r = child("print(bitnet.version())", env_library=LIB)
    assert r.returncode == 0 and r.stdout.strip() == bitnet.version(), r.stderr
    r = child("bitnet.version()", env_library="/nonexistent/libbitnet.so.0")
    assert r.returncode != 0
    assert "LibraryError" in r.stderr and "BITNET_LIBRARY" in r.stderr


def test_system_loader() -> None:
    # the directory of libbitnet.so.0 on the loader's path, no BITNET_LIBRARY
    r = child("print(bitnet.load_library()._name)", ld_path=str(Path(LIB).parent))
    assert r.returncode == 0, r.stderr
    assert "libbitnet" in r.stdout


def test_not_libbitnet() -> None:
    r = child("bitnet.version()", env_library="libm.so.6")
    assert r.returncode != 0 and "is not libbitnet" in r.stderr


@pytest.mark.parametrize("api,accepted", [
    ((bitnet.API_MAJOR, bitnet.API_MINOR, 0), True),
    ((bitnet.API_MAJOR, bitnet.API_MINOR + 1, 3), True),      # newer minor: compatible
    ((bitnet.API_MAJOR + 1, 0, 0), False),                    # another major
    ((bitnet.API_MAJOR, bitnet.API_MINOR - 1, 9), False),     # older minor
])
def test_abi_version_check(tmp_path: Path, api: tuple[int, int, int], accepted: bool) -> None:
    cc = os.environ.get("BITNET_CC") or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler to build a stand-in library")
    # A stand-in that reports `api` and has every function the bindings
    # declare (they would fail with "lacks bn_..." otherwise).
    packed = (api[0] << 16) | (api[1] << 8) | api[2]
    src = tmp_path / "fake.c"
    src.write_text("".join(f"void {fn}(void) {{}}\n" for fn in bitnet._ffi.PROTOTYPES
                           if fn != "bn_version_api") +
                   f"unsigned bn_version_api(void) {{ return {packed}u; }}\n")
    so = tmp_path / "libfake.so"
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(so)], check=True)
    r = child("import bitnet._ffi as f; f.lib(); print('loaded')", env_library=str(so))
    if accepted:
        assert r.returncode == 0 and "loaded" in r.stdout, r.stderr
    else:
        assert r.returncode != 0 and "these bindings need" in r.stderr, r.stderr
