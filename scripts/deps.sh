#!/usr/bin/env bash
# deps.sh: install the Debian/Ubuntu packages oisp-sensor needs, only those
# missing.  `deps.sh build` for building and running; `deps.sh test` adds
# what the test suite uses (real clients, the OISP schema validator).
set -euo pipefail

build_pkgs=(make gcc clang llvm pkg-config libbpf-dev libelf-dev zlib1g-dev libzstd-dev
            libbrotli-dev libssl-dev libjansson-dev libcapstone-dev libwebsockets-dev librdkafka-dev libcurl4-openssl-dev libmicrohttpd-dev libmimalloc-dev
            libxxhash-dev)
test_pkgs=(libcmocka-dev python3 python3-jsonschema python3-websocket curl openssl nodejs npm dpkg-dev rpm man-db groff-base bash-completion systemd python3-seccomp util-linux systemd-container)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

# bpftool: its own package on Debian 12; part of linux-tools on Ubuntu.
if ! command -v bpftool >/dev/null 2>&1 && ! [ -x /usr/sbin/bpftool ]; then
  if apt-cache show bpftool >/dev/null 2>&1; then want+=(bpftool)
  else want+=(linux-tools-common "linux-tools-$(uname -r)"); fi
fi

missing=()
for p in "${want[@]}"; do
  # node may come from elsewhere (nodesource, nvm): a working `node` is enough
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root (sudo) to install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
