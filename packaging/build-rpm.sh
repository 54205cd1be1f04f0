#!/usr/bin/env bash
# build-rpm.sh: builds $BUILD/oisp-sensor-VERSION-1.x86_64.rpm with rpmbuild (on
# Debian: the `rpm` package) from packaging/oisp-sensor.spec and the binary
# `make` already built; nothing is compiled.  The files come from
# `make install DESTDIR=<stage>`, like the .deb's.  Prints the path of the .rpm.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${BUILD:-build}
BIN=$BUILD/oisp-sensor
[ -x "$BIN" ] || { echo "build-rpm.sh: $BIN not found: run make first" >&2; exit 1; }
command -v rpmbuild >/dev/null ||
    { echo "build-rpm.sh: rpmbuild not found (Debian: apt-get install rpm; Fedora: dnf install rpm-build)" >&2; exit 1; }
VERSION=$(sed -n 's/^#define OISP_SENSOR_VERSION "\(.*\)"/\1/p' src/events/event.h)
[ -n "$VERSION" ] || { echo "build-rpm.sh: no OISP_SENSOR_VERSION in src/events/event.h" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/oisp-rpm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
umask 022
# -o: package the binary as it is; never rebuild it here.
make -s -o "$BIN" install DESTDIR="$WORK/stage" PREFIX=/usr SYSCONFDIR=/etc BUILD="$BUILD" >/dev/null

# rpm on Debian has no rpm database of its own packages: do not let it look
# for the build's dependencies there (--nodeps); nothing is built anyway.
rpmbuild -bb --nodeps --quiet \
    --define "_topdir $WORK/top" \
    --define "_rpmdir $WORK/out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "oisp_version $VERSION" \
    --define "oisp_stage $WORK/stage" \
    --define "oisp_src $SRC" \
    packaging/oisp-sensor.spec >"$WORK/rpmbuild.log" 2>&1 ||
    { cat "$WORK/rpmbuild.log" >&2; exit 1; }
rpm=$(find "$WORK/out" -name '*.rpm' | head -n1)
[ -n "$rpm" ] || { cat "$WORK/rpmbuild.log" >&2; exit 1; }
mv "$rpm" "$BUILD/"
echo "$BUILD/$(basename "$rpm")"
