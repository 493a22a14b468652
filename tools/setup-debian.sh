#!/bin/sh
# Installs what building and testing libbitnet needs on Debian 12 (bookworm).
# Idempotent; uses sudo when not run as root. Pass --cross to add the arm64
# cross toolchain and qemu, --all for everything CI uses.
set -eu

pkgs="meson ninja-build gcc pkg-config libcmocka-dev unicode-data"
for arg in "$@"; do
    case "$arg" in
    --all|--ci) pkgs="$pkgs g++ clang llvm libclang-rt-14-dev abigail-tools qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
    --cross) pkgs="$pkgs qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
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
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
