#!/bin/sh
# Installs what building and testing libbitnet needs on Debian 12 (bookworm).
# Idempotent; uses sudo when not run as root. Pass --cross to add the arm64
# cross toolchain, qemu and the arm64 cmocka (cross/aarch64-linux-gnu.ini),
# --windows for mingw-w64, Wine and a mingw cmocka built from Debian's source
# (cross/x86_64-w64-mingw32.ini), --train for tools/train (PyTorch, the KJV),
# --all for everything CI uses.
set -eu

# arm64 libraries come from Debian's arm64 archive (multiarch): dpkg must
# know the architecture before apt-get update
cross_pkgs="qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross libcmocka-dev:arm64"
arm64=0
# Windows x86-64: mingw-w64 (its -posix gcc: winpthreads; g++ for the header
# tests), wine64 to run the tests, and what tools/mingw-cmocka.sh needs to
# build cmocka from source
win_pkgs="gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64-posix wine wine64 cmake dpkg-dev"
windows=0

# the Python package's tests and type check, and the API reference
# (bindings/python/, doc/api/); without them those tests are skipped
python_docs_pkgs="python3-pytest python3-mypy python3-cffi python3-numpy python3-venv python3-setuptools doxygen"

# bitnet_train.py (tools/train/): PyTorch for the CPU, which the tests
# finetune-smoke and mixed-precision need (about 1.5 minutes in build/ and
# build-asan/ together; skipped without it); the KJV corpus and a threaded
# BLAS only for training and doc/training.md's measurements (--train)
train_pkgs="python3-torch"

# scdoc: man pages (doc/man/); the build needs neither python3 nor unicode-data
# (unicode-data only lets the test unicode-table check the committed table).
pkgs="meson ninja-build gcc pkg-config libcmocka-dev unicode-data scdoc"
# bitnet-convert (JSON, SentencePiece protobuf) and its tests (checkpoint
# generator, SentencePiece oracle): doc/convert.md
pkgs="$pkgs libjansson-dev libprotobuf-c-dev protobuf-c-compiler python3-numpy python3-sentencepiece"
# bitnet-server: HTTP (libmicrohttpd), JSON (jansson, above); curl for its tests
pkgs="$pkgs libmicrohttpd-dev curl"
for arg in "$@"; do
    case "$arg" in
    # nginx-light: the two-replica test of bitnet-server (test/server/test_nginx.py)
    --all|--ci) pkgs="$pkgs g++ clang llvm libclang-rt-14-dev abigail-tools nginx-light $cross_pkgs $python_docs_pkgs $win_pkgs $train_pkgs"; arm64=1; windows=1 ;;
    --train) pkgs="$pkgs $train_pkgs bible-kjv libopenblas0-openmp" ;;
    --windows) pkgs="$pkgs $win_pkgs"; windows=1 ;;
    --cross) pkgs="$pkgs $cross_pkgs"; arm64=1 ;;
    *) echo "setup-debian.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
# Debian packages of libbitnet (packaging/check-debian.sh, CI step p3)
for arg in "$@"; do
    case "$arg" in --all|--ci) pkgs="$pkgs debhelper dpkg-dev lintian" ;; esac
done

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# cmocka for mingw comes from Debian's source package: apt-get source needs
# a deb-src entry for the suite this machine uses
deb_src=/etc/apt/sources.list.d/bitnet-deb-src.sources
need_src=0
[ "$windows" -eq 1 ] && ! apt-get indextargets --format '$(CREATED_BY)' 2>/dev/null | grep -q '^Sources$' && need_src=1
mingw_cmocka() {
    [ "$windows" -eq 1 ] || return 0
    if [ "$(id -u)" -eq 0 ]; then
        "$(dirname "$0")/mingw-cmocka.sh"
    else
        sudo "$(dirname "$0")/mingw-cmocka.sh"
    fi
}
if [ -z "$missing" ] && [ "$need_src" -eq 0 ]; then
    mingw_cmocka
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if [ "$arm64" -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
if [ "$need_src" -eq 1 ]; then
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$suite" | $SUDO tee "$deb_src" >/dev/null
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
mingw_cmocka
