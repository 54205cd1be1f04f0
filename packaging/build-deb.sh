#!/usr/bin/env bash
# build-deb.sh: builds $BUILD/oisp-sensor_VERSION_ARCH.deb with dpkg-deb from the
# binary `make` already built (nothing is compiled here).  Run from anywhere:
#   packaging/build-deb.sh            (or `make deb`)
# The file tree comes from `make install DESTDIR=<stage>`, so the package holds
# exactly what `make install` installs.  Depends is computed by dpkg-shlibdeps
# from the binary's ELF dependencies, plus the capstone library the sensor
# dlopen()s (invisible to shlibdeps) and passwd (useradd, used by postinst).
# /etc/oisp/config.toml is a conffile (mode 0640).  The maintainer scripts
# create the `oisp` user and /var/lib/oisp, /var/log/oisp; the service is not
# started or enabled.  Prints the path of the .deb on success.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/oisp-sensor
[ -x "$BIN" ] || { echo "build-deb.sh: $BIN not found: run make first" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }

VERSION=$(sed -n 's/^#define OISP_SENSOR_VERSION "\(.*\)"/\1/p' src/events/event.h)
[ -n "$VERSION" ] || { echo "build-deb.sh: no OISP_SENSOR_VERSION in src/events/event.h" >&2; exit 1; }
ARCH=$(dpkg --print-architecture)
OUT=$BUILD/oisp-sensor_${VERSION}_${ARCH}.deb

WORK=$(mktemp -d "${TMPDIR:-/tmp}/oisp-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/debian/oisp-sensor          # the layout dpkg-shlibdeps expects

umask 022
# -o: package the binary as it is; never rebuild it here.
make -s -o "$BIN" install DESTDIR="$STAGE" PREFIX=/usr SYSCONFDIR=/etc BUILD="$BUILD" >/dev/null
# The state and log directories belong to the oisp user, which only exists
# once postinst has run: postinst creates them.
rm -rf "$STAGE/var"

# Runtime dependencies.
capstone_lib=$(objdump -p "$(pkg-config --variable=libdir capstone 2>/dev/null)/libcapstone.so" 2>/dev/null |
               awk '/SONAME/{print $2}')
capstone_pkg=
if [ -n "$capstone_lib" ]; then
    path=$(ldconfig -p | awk -v l="$capstone_lib" '$1==l{print $NF; exit}')
    [ -n "$path" ] && capstone_pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1)
fi
capstone_pkg=${capstone_pkg:-libcapstone4}
mkdir -p "$STAGE/DEBIAN"
if command -v dpkg-shlibdeps >/dev/null; then
    printf 'Source: oisp-sensor\n\nPackage: oisp-sensor\nArchitecture: any\n' >"$WORK/debian/control"
    shlibs=$(cd "$WORK" && dpkg-shlibdeps -O debian/oisp-sensor/usr/bin/oisp-sensor | sed -n 's/^shlibs:Depends=//p')
else
    # Debian 12 names, what dpkg-shlibdeps computes there.
    shlibs="libbpf1, libbrotli1, libc6, libcurl4, libelf1, libjansson4, libmicrohttpd12, libmimalloc2.0, librdkafka1, libssl3, libwebsockets17, libzstd1, zlib1g"
fi
depends="$shlibs, $capstone_pkg, passwd"
rm -f "$WORK/debian/control"

installed_kb=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<EOF
Package: oisp-sensor
Version: $VERSION
Architecture: $ARCH
Maintainer: oisp-sensor maintainers <oisp-sensor@localhost>
Installed-Size: $installed_kb
Depends: $depends
Recommends: systemd
Section: admin
Priority: optional
Description: see every AI API call made on this host, from TLS plaintext with eBPF
 oisp-sensor attaches eBPF uprobes to OpenSSL (libssl.so, or a copy linked
 statically into a program such as node) in every process on the host,
 rebuilds the HTTP/1.1 exchanges and decodes the AI provider APIs (OpenAI,
 Anthropic, Gemini, Bedrock and others). It writes OISP v0.1 events as JSON
 Lines and to network sinks (OTLP, Kafka, webhooks, WebSocket), with API keys
 and other secrets redacted.
 .
 The oisp-sensor service is installed but neither enabled nor started: edit
 /etc/oisp/config.toml, then run systemctl enable --now oisp-sensor.
EOF
echo /etc/oisp/config.toml >"$STAGE/DEBIAN/conffiles"

{
    echo '#!/bin/sh'
    echo '# postinst: the oisp user and its directories (from packaging/oisp-user.sh);'
    echo '# systemd learns of the unit, which is not enabled or started.'
    echo 'set -e'
    echo 'if [ "$1" = configure ]; then'
    sed -e '1,/^set -e$/d' -e '/^oisp_setup_user "\$@"$/d' packaging/oisp-user.sh
    echo '    oisp_setup_user /etc'
    echo '    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi'
    echo 'fi'
    echo 'exit 0'
} >"$STAGE/DEBIAN/postinst"

cat >"$STAGE/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# prerm: stop a running sensor before its files go away (it writes what it holds).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop oisp-sensor.service || true
    systemctl disable oisp-sensor.service || true
fi
exit 0
EOF

cat >"$STAGE/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# postrm: on purge, remove the state and logs (captured events included) and
# the configuration directory. The oisp user is kept, as Debian policy advises.
set -e
if [ "$1" = purge ]; then
    rm -rf /var/lib/oisp /var/log/oisp
    rmdir /etc/oisp 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
EOF
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"

(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f ! -path './etc/*' -printf '%P\0' |
    sort -z | xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"
