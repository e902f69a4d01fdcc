#!/usr/bin/env bash
# Build the hostap interop tools Gangway's tests need, from Debian bookworm's `wpa` 2.10 source package:
#
#   scripts/build-hostap-tools.sh OUTDIR            builds OUTDIR/eapol_test (EAP peer, TEAP enabled)
#   scripts/build-hostap-tools.sh OUTDIR hostapd    also builds OUTDIR/hostapd (RADIUS/EAP server, TEAP enabled)
#
# Why: Debian's packaged eapol_test (package `eapoltest`) is compiled without TEAP, and no hostapd
# package ships the integrated RADIUS server configuration we use as a reference peer.
# The project default OUTDIR is .tools/hostap (gitignored).
#
# Requires root when build dependencies are missing (they are installed with apt-get). Re-running is
# cheap: nothing is done when the requested binaries already exist. A build takes a few minutes.
set -euo pipefail

if (($# < 1 || $# > 2)) || [[ ${2:-hostapd} != hostapd ]]; then
  echo "usage: $0 OUTDIR [hostapd]" >&2
  exit 2
fi
mkdir -p "$1"
dest=$(cd "$1" && pwd)
with_hostapd=${2:+yes}

have_all() {
  [[ -x $dest/eapol_test ]] || return 1
  [[ -z $with_hostapd || -x $dest/hostapd ]]
}
if have_all; then
  echo "hostap tools already present in $dest"
  exit 0
fi

log() { echo "[build-hostap-tools] $*"; }

# --- build dependencies -------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
missing=()
for pkg in build-essential libssl-dev pkg-config xz-utils dpkg-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  log "installing build dependencies: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- fetch the source package through a private, throw-away deb-src list ----------------------------
# The system's apt configuration is left untouched: source list, index directory and download all
# live in a scratch directory that is removed on exit.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hostap-build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/sources.list.d" "$scratch/lists/partial" "$scratch/dl"
{
  echo "Types: deb-src"
  echo "URIs: ${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  echo "Suites: bookworm"
  echo "Components: main"
  echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
} >"$scratch/sources.list.d/wpa-src.sources"
apt_private=(
  -o "Dir::Etc::SourceList=/dev/null"
  -o "Dir::Etc::SourceParts=$scratch/sources.list.d"
  -o "Dir::State::Lists=$scratch/lists"
)
log "fetching Debian source package wpa (bookworm)"
if ! apt-get "${apt_private[@]}" update >"$scratch/apt-update.log" 2>&1; then
  cat "$scratch/apt-update.log" >&2
  exit 1
fi
# apt-get verifies the downloaded files against the signed Sources index.
(cd "$scratch/dl" && apt-get "${apt_private[@]}" source --download-only wpa) >"$scratch/apt-source.log" 2>&1 || {
  cat "$scratch/apt-source.log" >&2
  exit 1
}
orig=$(ls "$scratch"/dl/wpa_*.orig.tar.* | head -n1)
tar -C "$scratch" -xf "$orig"
tree=$(ls -d "$scratch"/wpa-*/ | head -n1)
tree=${tree%/}
log "unpacked $(basename "$orig")"

# --- source adjustments ---------------------------------------------------------------------------
# 2.10's Makefiles add -Werror; gcc 12 emits warnings (e.g. use-after-free) on these sources.
sed -i -e 's/-Werror//g' "$tree/wpa_supplicant/Makefile" "$tree/hostapd/Makefile"
# The built-in RADIUS server only tracks 1000 sessions (each lingers ~5 s), so it starts rejecting new
# conversations at roughly 200 auths/s. Lift the cap so load tests measure the server under test.
sed -i -e 's/^#define RADIUS_MAX_SESSION 1000$/#define RADIUS_MAX_SESSION 100000/' "$tree/src/radius/radius_server.c"
grep -q '^#define RADIUS_MAX_SESSION 100000$' "$tree/src/radius/radius_server.c" || {
  echo "RADIUS_MAX_SESSION patch did not apply" >&2
  exit 1
}

jobs=$(nproc 2>/dev/null || echo 2)
buildlog="$scratch/build.log"

# --- eapol_test ------------------------------------------------------------------------------------
# Method set: the ones Gangway talks (TLS, TEAP) plus the usual tunnel/inner methods for interop.
cat >"$tree/wpa_supplicant/.config" <<'EOF'
CONFIG_TLS=openssl
CONFIG_TLSV11=y
CONFIG_TLSV12=y
CONFIG_EAPOL_TEST=y
CONFIG_IEEE8021X_EAPOL=y
CONFIG_DRIVER_WIRED=y
CONFIG_CTRL_IFACE=y
CONFIG_PKCS12=y
CONFIG_EAP_TLS=y
CONFIG_EAP_TEAP=y
CONFIG_EAP_PEAP=y
CONFIG_EAP_TTLS=y
CONFIG_EAP_FAST=y
CONFIG_EAP_MSCHAPV2=y
CONFIG_EAP_GTC=y
CONFIG_EAP_MD5=y
EOF
log "compiling eapol_test (log: build.log)"
if ! make -C "$tree/wpa_supplicant" -j"$jobs" eapol_test >"$buildlog" 2>&1; then
  tail -n 50 "$buildlog" >&2
  exit 1
fi
install -m 0755 "$tree/wpa_supplicant/eapol_test" "$dest/eapol_test"

# --- hostapd (optional) ----------------------------------------------------------------------------
if [[ -n $with_hostapd ]]; then
  cat >"$tree/hostapd/.config" <<'EOF'
CONFIG_TLS=openssl
CONFIG_TLSV11=y
CONFIG_TLSV12=y
CONFIG_DRIVER_NONE=y
CONFIG_RADIUS_SERVER=y
CONFIG_IPV6=y
CONFIG_PKCS12=y
CONFIG_EAP=y
CONFIG_EAP_TLS=y
CONFIG_EAP_TEAP=y
CONFIG_EAP_PEAP=y
CONFIG_EAP_TTLS=y
CONFIG_EAP_FAST=y
CONFIG_EAP_MSCHAPV2=y
CONFIG_EAP_GTC=y
CONFIG_EAP_MD5=y
EOF
  log "compiling hostapd"
  if ! make -C "$tree/hostapd" -j"$jobs" hostapd >>"$buildlog" 2>&1; then
    tail -n 50 "$buildlog" >&2
    exit 1
  fi
  install -m 0755 "$tree/hostapd/hostapd" "$dest/hostapd"
fi

# Sanity check: the point of this build is TEAP support in the peer.
if ! grep -qa 'EAP-TEAP: ' "$dest/eapol_test"; then
  echo "built eapol_test has no EAP-TEAP support" >&2
  exit 1
fi
log "done: $(cd "$dest" && ls | tr '\n' ' ')"
