#!/usr/bin/env bash
# install.sh: installs oisp-sensor on this machine, the way its distribution
# expects, and says what it did and what to do next.  Run as root from a
# checkout (scripts/install.sh) or with a package built by `make deb`/`make rpm`.
#
#   Debian, Ubuntu (and ID_LIKE=debian):   a .deb if one is given or found in
#       build/ (apt-get resolves its dependencies), else the build packages
#       (scripts/deps.sh), make, make install.
#   Fedora, RHEL, CentOS, Rocky, Alma (and ID_LIKE=fedora/rhel): a .rpm if one
#       is given or found, else the build packages with dnf (Fedora names; RHEL
#       and its rebuilds need EPEL), make, make install.
#
# Options:
#   --package FILE   install this .deb or .rpm
#   --from-source    build and `make install` even if a package is there
#   --destdir DIR    build and install below DIR (a staged install: no user,
#                    no systemd; root is not needed if the packages are there)
#   --no-deps        do not install build packages
#   -h, --help       this help
# OISP_OS_RELEASE names another os-release file (for tests).
set -euo pipefail
cd "$(dirname "$0")/.."

package= from_source=0 destdir= deps=1
usage() { sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}' "$0"; }
while [ $# -gt 0 ]; do
    case $1 in
        --package) package=${2:?--package needs a file}; shift 2 ;;
        --from-source) from_source=1; shift ;;
        --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
        --no-deps) deps=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

did=()                                   # what was done, for the summary
say() { echo "install.sh: $*"; }
run() { say "+ $*"; "$@"; }

# --- which distribution ------------------------------------------------------
os_release=${OISP_OS_RELEASE:-/etc/os-release}
[ -r "$os_release" ] || { echo "install.sh: cannot read $os_release: unknown distribution" >&2; exit 1; }
ID= ID_LIKE= PRETTY_NAME=
# shellcheck disable=SC1090
. "$os_release"
family=
for id in $ID $ID_LIKE; do
    case $id in
        debian|ubuntu) family=debian; break ;;
        fedora|rhel|centos|rocky|almalinux|alma) family=fedora; break ;;
    esac
done
[ -n "$family" ] || {
    echo "install.sh: ${PRETTY_NAME:-$ID} is not supported (Debian, Ubuntu, Fedora, RHEL and its rebuilds are)." >&2
    echo "install.sh: build with make and install with make install; see README.md." >&2
    exit 1
}
say "distribution: ${PRETTY_NAME:-$ID} ($family family)"

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo scripts/install.sh), or use --destdir DIR" >&2
    exit 1
fi
if [ -n "$destdir" ] && [ -n "$package" ]; then
    echo "install.sh: --destdir installs from source; it cannot be used with --package" >&2
    exit 2
fi

# --- a package, if there is one -------------------------------------------------
if [ -z "$package" ] && [ "$from_source" = 0 ] && [ -z "$destdir" ]; then
    if [ "$family" = debian ]; then
        package=$(ls -t build/oisp-sensor_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n1 || true)
    else
        package=$(ls -t build/oisp-sensor-*."$(uname -m)".rpm 2>/dev/null | head -n1 || true)
    fi
fi

install_package() {
    local file=$1
    [ -f "$file" ] || { echo "install.sh: $file: no such package" >&2; exit 1; }
    case $family:$file in
        debian:*.deb)
            export DEBIAN_FRONTEND=noninteractive
            run apt-get install -y -q --no-install-recommends "$(realpath "$file")"
            did+=("installed the package $file with apt-get (its dependencies too)") ;;
        fedora:*.rpm)
            run dnf install -y "$(realpath "$file")"
            did+=("installed the package $file with dnf (its dependencies too)") ;;
        *)  echo "install.sh: $file is not a package for the $family family" >&2; exit 1 ;;
    esac
}

fedora_build_pkgs=(make gcc clang llvm pkgconf-pkg-config bpftool libbpf-devel elfutils-libelf-devel
                   zlib-devel libzstd-devel brotli-devel openssl-devel jansson-devel capstone-devel
                   libwebsockets-devel librdkafka-devel libcurl-devel libmicrohttpd-devel)

install_from_source() {
    if [ "$deps" = 1 ]; then
        if [ "$family" = debian ]; then
            run scripts/deps.sh build
            did+=("checked the build packages (scripts/deps.sh build installs what is missing)")
        else
            run dnf install -y "${fedora_build_pkgs[@]}"
            did+=("installed the build packages with dnf")
        fi
    fi
    run make -j"$(nproc)" all
    did+=("built build/oisp-sensor")
    if [ -n "$destdir" ]; then
        run make install DESTDIR="$destdir"
        did+=("installed below $destdir (make install DESTDIR=$destdir)")
    else
        run make install
        did+=("installed with make install (uninstall: make uninstall)")
    fi
}

if [ -n "$package" ] && [ "$from_source" = 0 ]; then
    install_package "$package"
else
    install_from_source
fi

# --- what was done, and what next -----------------------------------------------
root=${destdir%/}
echo
say "done:"
for d in "${did[@]}"; do echo "  - $d"; done
echo "  - files: $root/usr/bin/oisp-sensor, $root/etc/oisp/config.toml,"
echo "           $root/usr/lib/systemd/system/oisp-sensor.service, man page oisp-sensor(1),"
echo "           bash completion; events go to $root/var/log/oisp/"
if [ -z "$destdir" ]; then
    echo "  - the service runs as the system user 'oisp' (created if it was missing)"
    echo
    echo "next steps:"
    echo "  1. edit /etc/oisp/config.toml (sinks, filters, redaction), then check it:"
    echo "       oisp-sensor config check /etc/oisp/config.toml"
    n=2
    if oisp-sensor --help 2>/dev/null | grep -q '^  check '; then
        echo "  2. oisp-sensor check   (can this kernel and this user run the sensor?)"
        n=3
    fi
    echo "  $n. systemctl enable --now oisp-sensor"
    echo "  $((n + 1)). sudo oisp-sensor status; sudo oisp-sensor show -f /var/log/oisp/events.jsonl"
    echo "     later changes: systemctl reload oisp-sensor; logs: journalctl -u oisp-sensor"
fi
