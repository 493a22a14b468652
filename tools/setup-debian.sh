#!/bin/sh
# Installs what building and testing libbitnet needs on Debian 12 (bookworm).
# Idempotent; uses sudo when not run as root. Pass --cross to add the arm64
# cross toolchain, qemu and the arm64 cmocka (cross/aarch64-linux-gnu.ini),
# --all for everything CI uses.
set -eu

# arm64 libraries come from Debian's arm64 archive (multiarch): dpkg must
# know the architecture before apt-get update
cross_pkgs="qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross libcmocka-dev:arm64"
arm64=0

# the Python package's tests and type check, and the API reference
# (bindings/python/, doc/api/); without them those tests are skipped
python_docs_pkgs="python3-pytest python3-mypy python3-cffi python3-numpy python3-venv python3-setuptools doxygen"

pkgs="meson ninja-build gcc pkg-config libcmocka-dev unicode-data"
# bitnet-convert (JSON, SentencePiece protobuf) and its tests (checkpoint
# generator, SentencePiece oracle): doc/convert.md
pkgs="$pkgs libjansson-dev libprotobuf-c-dev protobuf-c-compiler python3-numpy python3-sentencepiece"
for arg in "$@"; do
    case "$arg" in
    --all|--ci) pkgs="$pkgs g++ clang llvm libclang-rt-14-dev abigail-tools $cross_pkgs $python_docs_pkgs"; arm64=1 ;;
    --cross) pkgs="$pkgs $cross_pkgs"; arm64=1 ;;
    *) echo "setup-debian.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if [ "$arm64" -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
