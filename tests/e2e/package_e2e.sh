#!/usr/bin/env bash
# package_e2e.sh: end-to-end tests of the service and the packages (run as root,
# from anywhere, after `make`).  Prints `PASS name`, `FAIL name: reason` or
# `SKIP name: reason` per test, then `N passed, N failed, N skipped`; exits 1 if
# any failed.
#
# The tests work on a copy of build/oisp-sensor (BUILD=<work>/b), so that a rebuild while they
# run changes nothing, and they never compile: make is run with -o on the binary.
#
#   deb_build      packaging/build-deb.sh makes BUILD/oisp-sensor_VERSION_ARCH.deb
#   deb_contents   dpkg-deb -c: every file with its mode and root ownership, nothing else
#   deb_extract    dpkg -x into a temporary root: the files are the tree's, the binary runs
#   deb_control    dpkg-deb -I: fields, Depends (every NEEDED library's package, capstone),
#                  conffiles, maintainer scripts that parse and do not start the service
#   unit_fields    the unit's ExecStart/ExecReload/Restart/User/capability lines
#   unit_verify    systemd-analyze verify (and security --offline exposure < 4)
#   rpm_build      packaging/build-rpm.sh; rpm -qlp lists the files, %config, %post
#   make_install   make install DESTDIR: the tree with its modes; a second install keeps an
#                  edited config; make uninstall removes the files and keeps the config
#   man_page       renders without warnings; documents every command and only real options
#   completion     bash completion: `oisp-sensor rec` -> record (`re` also offers replay),
#                  options, sub-commands, option values, files
#   service_run    the unit's ExecStart run the way systemd would run it (see below), capturing
#                  curl as root, curl as nobody, and a private copy of node in a 0700
#                  directory as nobody; SIGHUP reloads; SIGTERM exits 0
#   service_caps   the same without CAP_DAC_READ_SEARCH misses the private node: the
#                  capability the unit grants is needed (the test can fail)
#   service_systemd the .deb installed in a throwaway overlay of this machine's root, booted
#                  with systemd as PID 1 by systemd-nspawn: the real unit starts as the oisp
#                  user with exactly its capabilities, captures curl exchanges, reloads
#                  (a bad config is refused, the old one kept) and stops with success
#
# service_run cannot use systemd when it is not PID 1 (containers, CI), so it
# applies the unit's settings itself: User= (a numeric uid with no passwd entry),
# AmbientCapabilities/CapabilityBoundingSet, NoNewPrivileges, SystemCallFilter
# with SystemCallErrorNumber=EPERM, RestrictAddressFamilies and
# MemoryDenyWriteExecute (seccomp, with python3-seccomp; SKIP without it),
# ProtectSystem=strict + ReadWritePaths, ProtectHome=read-only, PrivateTmp,
# ProtectKernelTunables, WorkingDirectory. The unit's paths are moved below a
# work directory, as `make install DESTDIR` does, so the host is not touched.
# Environment: KEEP=1 keeps the work directory.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
PY=/usr/bin/python3
passed=0 failed=0 skipped=0
name='' why=''

note() { [ -n "$why" ] || why=$1; }          # the first reason a test fails
begin() { name=$1 why=; }
end() {
    if [ -z "$why" ]; then echo "PASS $name"; passed=$((passed + 1))
    else echo "FAIL $name: $why"; failed=$((failed + 1)); fi
}
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }
want_file() { [ -e "$1" ] || note "missing $1"; }
want_mode() { local m; m=$(stat -c %a "$1" 2>/dev/null); [ "$m" = "$2" ] || note "$1: mode ${m:-none}, wanted $2"; }
mode_string() {                              # mode_string 640 -> -rw-r-----
    local out=- i d
    for i in 0 1 2; do
        d=${1:i:1}
        out+=$( ((d & 4)) && echo r || echo -)$( ((d & 2)) && echo w || echo -)$( ((d & 1)) && echo x || echo -)
    done
    echo "$out"
}

[ "$(id -u)" = 0 ] || { echo "package_e2e.sh: run as root"; echo "0 passed, 1 failed"; exit 1; }
if ! make -s all >/dev/null 2>&1; then
    echo "FAIL build: make all failed"; echo "0 passed, 1 failed"; exit 1
fi
VERSION=$(sed -n 's/^#define OISP_SENSOR_VERSION "\(.*\)"/\1/p' src/events/event.h)
WORK=$(mktemp -d "$ROOT/build/pkg-e2e.XXXXXX")     # not under /tmp: PrivateTmp hides it
chmod 755 "$WORK"
SNAP=$WORK/b                                 # BUILD for the packaging scripts and make install
mkdir -p "$SNAP" && cp "$ROOT/build/oisp-sensor" "$SNAP/oisp-sensor"
BIN=$SNAP/oisp-sensor
MAKE_I=(make -s -o "$BIN" BUILD="$SNAP")    # install/uninstall the copy, never rebuild it
cleanup() {
    [ -n "${sensor_pid:-}" ] && kill -KILL "$sensor_pid" 2>/dev/null
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The files a package installs: path, mode.
FILES="usr/bin/oisp-sensor 755
etc/oisp/config.toml 640
usr/lib/systemd/system/oisp-sensor.service 644
usr/lib/sysusers.d/oisp-sensor.conf 644
usr/share/man/man1/oisp-sensor.1.gz 644
usr/share/bash-completion/completions/oisp-sensor 644"

# ---------------------------------------------------------------------------------------
begin deb_build
DEB=$(BUILD=$SNAP packaging/build-deb.sh 2>"$WORK/deb.err")
[ -n "$DEB" ] && [ -f "$DEB" ] || note "build-deb.sh made no package: $(tail -n1 "$WORK/deb.err")"
[ "$DEB" = "$SNAP/oisp-sensor_${VERSION}_$(dpkg --print-architecture).deb" ] || note "unexpected name $DEB"
[ -s "$WORK/deb.err" ] && note "build-deb.sh warned: $(head -n1 "$WORK/deb.err")"
end

begin deb_contents
if [ -f "$DEB" ]; then
    dpkg-deb -c "$DEB" >"$WORK/deb.list"
    while read -r path mode; do
        want=$(mode_string "$mode")
        grep -qE "^$want root/root +[0-9]+ [0-9-]+ [0-9:]+ \./$path$" "$WORK/deb.list" ||
            note "$path not listed as $want root/root"
    done <<<"$FILES"
    nfiles=$(grep -c '^-' "$WORK/deb.list")
    [ "$nfiles" = 6 ] || note "$nfiles files in the package, wanted 6"
    grep -q ' \./var/' "$WORK/deb.list" && note "the package ships /var (postinst creates it)"
    grep -v ' root/root ' "$WORK/deb.list" | grep -q . && note "entries not owned by root/root"
else
    note "no package"
fi
end

begin deb_extract
X=$WORK/x
if [ -f "$DEB" ] && dpkg -x "$DEB" "$X"; then
    while read -r path mode; do want_file "$X/$path"; want_mode "$X/$path" "$mode"; done <<<"$FILES"
    cmp -s "$X/usr/bin/oisp-sensor" "$BIN" || note "the packaged binary is not the built one"
    "$X/usr/bin/oisp-sensor" version | grep -qF "oisp-sensor $VERSION" || note "packaged binary: wrong version"
    cmp -s "$X/etc/oisp/config.toml" packaging/config.toml || note "config.toml differs from packaging/config.toml"
    cmp -s "$X/usr/lib/systemd/system/oisp-sensor.service" packaging/oisp-sensor.service ||
        note "the unit differs from packaging/oisp-sensor.service"
    zcat "$X/usr/share/man/man1/oisp-sensor.1.gz" | cmp -s - man/oisp-sensor.1 || note "man page differs"
    cmp -s "$X/usr/share/bash-completion/completions/oisp-sensor" completions/oisp-sensor.bash ||
        note "completion differs"
else
    note "dpkg -x failed"
fi
end

begin deb_control
if [ -f "$DEB" ]; then
    field() { dpkg-deb -f "$DEB" "$1"; }
    [ "$(field Package)" = oisp-sensor ] || note "Package: $(field Package)"
    [ "$(field Version)" = "$VERSION" ] || note "Version: $(field Version), wanted $VERSION"
    [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || note "Architecture: $(field Architecture)"
    [ -n "$(field Maintainer)" ] && [ -n "$(field Description)" ] || note "no Maintainer or Description"
    deps=" $(field Depends | tr ',' '\n' | awk '{print $1}' | tr '\n' ' ')"
    for p in libbpf1 libelf1 zlib1g libzstd1 libbrotli1 libssl3 libjansson4 libcapstone4 libcurl4 \
             librdkafka1 libwebsockets17 libmicrohttpd12 libc6 passwd; do
        [[ $deps == *" $p "* ]] || note "Depends lacks $p"
    done
    # every library the binary links is in a package named in Depends
    for lib in $(objdump -p "$BIN" | awk '/NEEDED/{print $2}'); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1)
        [ -n "$pkg" ] && [[ $deps != *" $pkg "* ]] && note "Depends lacks $pkg (for $lib)"
    done
    dpkg-deb -e "$DEB" "$WORK/ctl"
    [ "$(cat "$WORK/ctl/conffiles" 2>/dev/null)" = /etc/oisp/config.toml ] || note "conffiles is not /etc/oisp/config.toml"
    for s in postinst prerm postrm; do
        [ -x "$WORK/ctl/$s" ] || { note "no executable $s"; continue; }
        sh -n "$WORK/ctl/$s" || note "$s does not parse"
    done
    grep -q 'useradd --system' "$WORK/ctl/postinst" || note "postinst does not create the oisp user"
    grep -q 'install -d -m 0750 -o oisp -g oisp /var/lib/oisp /var/log/oisp' "$WORK/ctl/postinst" ||
        note "postinst does not create /var/lib/oisp and /var/log/oisp"
    grep -qE 'systemctl (start|enable|restart)' "$WORK/ctl/postinst" && note "postinst starts or enables the service"
else
    note "no package"
fi
end

# ---------------------------------------------------------------------------------------
UNIT=packaging/oisp-sensor.service
begin unit_fields
ukey() { sed -n "s/^$1=//p" "$UNIT"; }
[ "$(ukey ExecStart)" = "/usr/bin/oisp-sensor record --config /etc/oisp/config.toml" ] || note "ExecStart: $(ukey ExecStart)"
[ "$(ukey ExecReload)" = '/bin/kill -HUP $MAINPID' ] || note "ExecReload: $(ukey ExecReload)"
[ "$(ukey Restart)" = on-failure ] || note "Restart: $(ukey Restart)"
[ "$(ukey User)" = oisp ] || note "User: $(ukey User)"
[ "$(ukey ProtectSystem)" = strict ] || note "ProtectSystem: $(ukey ProtectSystem)"
[ "$(ukey NoNewPrivileges)" = yes ] || note "NoNewPrivileges: $(ukey NoNewPrivileges)"
[ "$(ukey AmbientCapabilities)" = "$(ukey CapabilityBoundingSet)" ] || note "ambient and bounding capabilities differ"
for d in /var/log/oisp /var/lib/oisp /run/oisp; do
    [[ " $(ukey ReadWritePaths) " == *" $d "* ]] || note "ReadWritePaths lacks $d"
done
grep -qE '^(ProtectProc=invisible|ProcSubset=pid|PrivateUsers=yes)' "$UNIT" && note "an option that hides other processes"
end

if command -v systemd-analyze >/dev/null; then
    begin unit_verify
    # The unit's binary must exist for verify: point it at the extracted package.
    if [ -x "$WORK/x/usr/bin/oisp-sensor" ]; then
        sed "s|/usr/bin/oisp-sensor|$WORK/x/usr/bin/oisp-sensor|" "$UNIT" >"$WORK/oisp-sensor.service"
        MANPATH=$WORK/x/usr/share/man systemd-analyze verify "$WORK/oisp-sensor.service" >"$WORK/verify.log" 2>&1 ||
            note "systemd-analyze verify: $(head -n1 "$WORK/verify.log")"
        [ -s "$WORK/verify.log" ] && note "systemd-analyze verify warned: $(head -n1 "$WORK/verify.log")"
        if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
            level=$(systemd-analyze security --offline=yes "$WORK/oisp-sensor.service" 2>/dev/null |
                    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
            [ -n "$level" ] || note "systemd-analyze security printed no exposure level"
            [ -n "$level" ] && awk -v l="$level" 'BEGIN{exit !(l < 4.0)}' || note "exposure level ${level:-?} is not below 4.0"
        fi
    else
        note "no extracted binary (deb_extract failed)"
    fi
    end
else
    skip unit_verify "systemd-analyze is not installed (Debian: apt-get install systemd)"
fi

# ---------------------------------------------------------------------------------------
if command -v rpmbuild >/dev/null && command -v rpm >/dev/null; then
    begin rpm_build
    RPM=$(BUILD=$SNAP packaging/build-rpm.sh 2>"$WORK/rpm.err")
    if [ -n "$RPM" ] && [ -f "$RPM" ]; then
        rpm -qlp "$RPM" 2>/dev/null | sort >"$WORK/rpm.list"
        printf '/etc/oisp\n' >"$WORK/rpm.want"
        while read -r path mode; do echo "/$path"; done <<<"$FILES" >>"$WORK/rpm.want"
        sort -o "$WORK/rpm.want" "$WORK/rpm.want"
        cmp -s "$WORK/rpm.list" "$WORK/rpm.want" || note "rpm -qlp: $(diff "$WORK/rpm.want" "$WORK/rpm.list" | grep '^[<>]' | head -n3 | tr '\n' ' ')"
        rpm -qlvp "$RPM" 2>/dev/null | grep -qE '^-rw-r----- +1 root +root .* /etc/oisp/config.toml$' ||
            note "config.toml is not 0640 root:root in the rpm"
        [ "$(rpm -qpc "$RPM" 2>/dev/null)" = /etc/oisp/config.toml ] || note "config.toml is not %config"
        [ "$(rpm -qp --qf '%{VERSION}' "$RPM" 2>/dev/null)" = "$VERSION" ] || note "wrong rpm version"
        rpm -qp --scripts "$RPM" 2>/dev/null | grep -q 'useradd --system' || note "%post does not create the oisp user"
        rpm -qpR "$RPM" 2>/dev/null | grep -q '^libbpf.so.1' || note "no generated library requirements"
        rpm -qpR "$RPM" 2>/dev/null | grep -qx capstone || note "capstone (dlopen) is not required"
    else
        note "build-rpm.sh made no package: $(tail -n1 "$WORK/rpm.err")"
    fi
    end
else
    skip rpm_build "rpmbuild is not installed (Debian: apt-get install rpm)"
fi

# ---------------------------------------------------------------------------------------
begin make_install
I=$WORK/inst
if "${MAKE_I[@]}" install DESTDIR="$I" >"$WORK/install.log" 2>&1; then
    while read -r path mode; do want_file "$I/$path"; want_mode "$I/$path" "$mode"; done <<<"$FILES"
    want_mode "$I/var/lib/oisp" 750
    want_mode "$I/var/log/oisp" 750
    cmp -s "$I/usr/lib/systemd/system/oisp-sensor.service" "$UNIT" || note "installed unit differs (PREFIX=/usr)"
    echo '# edited by the administrator' >>"$I/etc/oisp/config.toml"
    "${MAKE_I[@]}" install DESTDIR="$I" >"$WORK/install2.log" 2>&1 || note "second make install failed"
    tail -n1 "$I/etc/oisp/config.toml" | grep -q 'edited by the administrator' || note "make install overwrote the config"
    cmp -s "$I/etc/oisp/config.toml.default" packaging/config.toml || note "no config.toml.default beside the kept config"
    "${MAKE_I[@]}" install DESTDIR="$WORK/inst2" PREFIX=/usr/local >/dev/null 2>&1 &&
        grep -q '^ExecStart=/usr/local/bin/oisp-sensor ' "$WORK/inst2/usr/local/lib/systemd/system/oisp-sensor.service" ||
        note "PREFIX=/usr/local: the unit does not run /usr/local/bin/oisp-sensor"
    "${MAKE_I[@]}" uninstall DESTDIR="$I" >/dev/null 2>&1 || note "make uninstall failed"
    [ -e "$I/usr/bin/oisp-sensor" ] && note "make uninstall left the binary"
    [ -e "$I/usr/lib/systemd/system/oisp-sensor.service" ] && note "make uninstall left the unit"
    [ -e "$I/etc/oisp/config.toml" ] || note "make uninstall removed the config"
else
    note "make install failed: $(tail -n1 "$WORK/install.log")"
fi
end

# ---------------------------------------------------------------------------------------
begin man_page
if command -v man >/dev/null; then
    MANWIDTH=80 man --warnings -l man/oisp-sensor.1 >"$WORK/man.txt" 2>"$WORK/man.err" || note "man failed"
    [ -s "$WORK/man.err" ] && note "man warned: $(head -n1 "$WORK/man.err")"
    for s in NAME SYNOPSIS DESCRIPTION COMMANDS FILES SIGNALS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -q "^$s\$" "$WORK/man.txt" || note "no $s section"
    done
else
    note "man is not installed (apt-get install man-db)"
fi
# every command the binary lists has a section; every option COMMANDS names exists
for cmd in $("$BIN" --help | awk '/^commands:/{on=1; next} on && /^$/{exit} on {print $1}'); do
    grep -qE "^\.SS \"?$cmd( |\"|\$)" man/oisp-sensor.1 || note "command $cmd is not documented"
done
helps=$WORK/helps.txt                        # every help text: commands and their sub-commands
{ "$BIN" --help
  for cmd in $("$BIN" --help | awk '/^commands:/{on=1; next} on && /^$/{exit} on {print $1}'); do
      timeout 10 "$BIN" "$cmd" --help 2>&1 | tee "$WORK/help.$cmd"
      for sub in $(awk -v c="$cmd" '/^  [a-z][-a-z]*( |$)/ {print $1}
                   { for (i = 1; i < NF; i++) if ($i == "oisp-sensor" && $(i+1) == c && $(i+2) ~ /^[a-z]+$/) print $(i+2) }' \
                   "$WORK/help.$cmd" | sort -u); do
          timeout 10 "$BIN" "$cmd" "$sub" --help 2>&1
      done
  done; } >"$helps" 2>&1
for opt in $(sed -n '/^\.SH COMMANDS/,/^\.SH /p' man/oisp-sensor.1 | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
             grep -oE -- '(^|[^-[:alnum:]])--[a-z][-a-z]*' | grep -oE -- '--[-a-z]+' | sort -u); do
    grep -qE -- "(^|[^-[:alnum:]])$opt([^-a-z]|\$)" "$helps" || note "man page names $opt, which no --help mentions"
done
end

# ---------------------------------------------------------------------------------------
begin completion
cat >"$WORK/complete.sh" <<'EOF'
# complete.sh LINE...: the completions bash offers for each LINE, cursor at the end.
[ -r /usr/share/bash-completion/bash_completion ] && source /usr/share/bash-completion/bash_completion
source "$COMPLETION"
for line in "$@"; do
    read -ra COMP_WORDS <<<"$line"; [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line} COMPREPLY=()
    _oisp_sensor oisp-sensor "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    echo "${COMPREPLY[*]}"
done
EOF
mkdir -p "$WORK/bin" && ln -sf "$BIN" "$WORK/bin/oisp-sensor"
mapfile -t got < <(cd "$WORK" && PATH=$WORK/bin:$PATH COMPLETION=$ROOT/completions/oisp-sensor.bash bash complete.sh \
    "oisp-sensor rec" "oisp-sensor " "oisp-sensor record --max-c" "oisp-sensor analyze " \
    "oisp-sensor show -t ai.re" "oisp-sensor analyze costs --by " "oisp-sensor config " \
    "oisp-sensor record -o complete.s" "oisp-sensor re")
[ "${got[0]:-}" = record ] || note "'oisp-sensor rec' completes to '${got[0]:-}', not record"
for cmd in $("$BIN" --help | awk '/^commands:/{on=1; next} on && /^$/{exit} on {print $1}'); do
    [[ " ${got[1]:-} " == *" $cmd "* ]] || note "command $cmd is not offered"
done
[ "${got[2]:-}" = --max-capture ] || note "'record --max-c' completes to '${got[2]:-}'"
[ "${got[3]:-}" = "costs inventory traces" ] || note "'analyze ' offers '${got[3]:-}'"
[ "${got[4]:-}" = "ai.request ai.response" ] || note "'show -t ai.re' offers '${got[4]:-}'"
[ "${got[5]:-}" = "provider model process" ] || note "'analyze costs --by ' offers '${got[5]:-}'"
[ "${got[6]:-}" = "check show" ] || note "'config ' offers '${got[6]:-}'"
[ "${got[7]:-}" = complete.sh ] || note "'record -o complete.s' offers '${got[7]:-}'"
[[ " ${got[8]:-} " == *" record "* ]] || note "'oisp-sensor re' offers '${got[8]:-}', without record"
bash -c "source completions/oisp-sensor.bash && complete -p oisp-sensor" 2>/dev/null | grep -q -- '-F _oisp_sensor oisp-sensor' ||
    note "complete -p does not show the completion function"
end

# ---------------------------------------------------------------------------------------
# service_run / service_caps
SVC_UID=64123                        # the service's user: any uid without a passwd entry
while getent passwd "$SVC_UID" >/dev/null; do SVC_UID=$((SVC_UID + 1)); done
sensor_pid='' server_pid=''

cat >"$WORK/unit_seccomp.py" <<'EOF'
# unit_seccomp.py FILTER CMD...: exec CMD under systemd's SystemCallFilter=FILTER (groups expanded by
# systemd-analyze syscall-filter), SystemCallErrorNumber=EPERM,
# RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK and MemoryDenyWriteExecute=yes.
import errno, os, subprocess, sys, seccomp
def expand(name, seen):
    if not name.startswith('@'):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(['systemd-analyze', 'syscall-filter', name], capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        w = line.strip()
        if w and not w.startswith('#'):
            calls |= expand(w, seen)
    return calls
allowed = set()
for w in sys.argv[1].split():
    allowed |= expand(w, set())
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
if 'socket' in allowed:
    allowed.discard('socket')
    for family in (1, 2, 10, 16):
        f.add_rule(seccomp.ALLOW, 'socket', seccomp.Arg(0, seccomp.EQ, family))
for call in ('mmap', 'mprotect', 'pkey_mprotect'):       # PROT_WRITE|PROT_EXEC together: refused
    if call in allowed:
        allowed.discard(call)
        for prot in (0, 2, 4):
            f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, 6, prot))
for call in sorted(allowed):
    try:
        f.add_rule(seccomp.ALLOW, call)
    except (RuntimeError, ValueError):
        pass                                             # not a system call of this kernel
f.load()
os.execv(sys.argv[2], sys.argv[2:])
EOF

# unit_run UNIT LOG: runs UNIT's ExecStart with UNIT's settings in a private mount namespace.
unit_run() {
    local unit=$1 log=$2 caps bset filter rw wd start d
    get() { sed -n "s/^$1=//p" "$unit" | tail -n1; }
    tocaps() { local out=-all c; for c in $1; do c=${c#CAP_}; out="$out,+${c,,}"; done; echo "$out"; }
    caps=$(tocaps "$(get AmbientCapabilities)") bset=$(tocaps "$(get CapabilityBoundingSet)")
    filter=$(get SystemCallFilter) rw=$(get ReadWritePaths) wd=$(get WorkingDirectory) start=$(get ExecStart)
    # RuntimeDirectory, StateDirectory, LogsDirectory: made by systemd, owned by User=
    for d in $rw; do install -d -o "$SVC_UID" -g "$SVC_UID" -m 0750 "$d"; done
    CAPS=$caps BSET=$bset FILTER=$filter RW=$rw WD=$wd START=$start \
    env --default-signal=INT,TERM,HUP unshare -m --propagation private /bin/bash -c '
        set -e
        mount -t tmpfs -o mode=1777 tmpfs /tmp                        # PrivateTmp
        for d in $RW; do mount --bind "$d" "$d"; done                  # ReadWritePaths
        mount --bind /home /home && mount -o remount,bind,ro /home     # ProtectHome=read-only
        mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys   # ProtectKernelTunables
        mount --bind /sys /sys && mount -o remount,bind,ro /sys
        mount -o remount,bind,ro /                                     # ProtectSystem=strict
        cd "$WD"
        exec setpriv --reuid="$SVC_UID" --regid="$SVC_UID" --clear-groups --no-new-privs \
            --inh-caps="$CAPS" --ambient-caps="$CAPS" --bounding-set="$BSET" -- \
            "$PY" "$SECCOMP" "$FILTER" $START' \
        >"$log" 2>&1 &
    sensor_pid=$!
}
export SVC_UID PY

# service_scenario NAME UNIT: the sensor under UNIT, three clients; results in $WORK/NAME/
service_scenario() {
    local n=$1 unit=$2 d=$WORK/$1 i
    mkdir -p "$d/pub" && chmod 755 "$d" "$d/pub"
    "$PY" tests/e2e/fake_provider.py "$d/pub" 2>"$d/server.err" &
    server_pid=$!
    for i in $(seq 100); do [ -s "$d/pub/port" ] && break; sleep 0.1; done
    [ -s "$d/pub/port" ] || { note "fake provider did not start: $(tail -n1 "$d/server.err")"; return; }
    chmod 644 "$d/pub/cert.pem"
    local port; port=$(cat "$d/pub/port")
    # a private node (static OpenSSL) in a 0700 directory of another user, started first
    install -d -o 65534 -g 65534 -m 0700 "$d/private"
    cp /usr/bin/node "$d/private/node" && chown 65534:65534 "$d/private/node" && chmod 0700 "$d/private/node"
    cat >"$d/pub/client.js" <<'EOF'
const fs = require('fs'), https = require('https');
const [go, port, ca] = process.argv.slice(2);
(function wait() {
  if (!fs.existsSync(go)) return setTimeout(wait, 50);
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'MARK-pkg-node Say hello.' }] });
  const req = https.request({ host: '127.0.0.1', servername: 'api.openai.com', port: +port, method: 'POST',
    path: '/v1/chat/completions', ca: fs.readFileSync(ca),
    headers: { Host: 'api.openai.com:' + port, 'Content-Type': 'application/json', Authorization: 'Bearer sk-test' } },
    (res) => { res.resume(); res.on('end', () => process.exit(res.statusCode === 200 ? 0 : 1)); });
  req.on('error', () => process.exit(1));
  req.end(body);
})();
EOF
    chmod 644 "$d/pub/client.js"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$d/private/node" "$d/pub/client.js" \
        "$d/pub/go" "$port" "$d/pub/cert.pem" >"$d/node.log" 2>&1 &
    local node_pid=$!
    sleep 0.5
    unit_run "$unit" "$d/sensor.log"
    for i in $(seq 300); do
        grep -q '^oisp-sensor: ready' "$d/sensor.log" && break
        kill -0 "$sensor_pid" 2>/dev/null || break
        sleep 0.1
    done
    if grep -q '^oisp-sensor: ready' "$d/sensor.log"; then
        E2E_PORT=$port E2E_CA=$d/pub/cert.pem bash tests/e2e/clients/curl.sh openai plain >"$d/curl-root.log" 2>&1 ||
            note "curl as root failed"
        setpriv --reuid=65534 --regid=65534 --clear-groups env E2E_PORT="$port" E2E_CA="$d/pub/cert.pem" \
            bash tests/e2e/clients/curl.sh openai plain >"$d/curl-nobody.log" 2>&1 || note "curl as nobody failed"
        touch "$d/pub/go"
        wait "$node_pid" || note "the node client failed: $(tail -n1 "$d/node.log")"
        if [ "$n" = service_run ]; then
            kill -HUP "$sensor_pid"
            for i in $(seq 50); do grep -q 'reload' "$d/sensor.log" && break; sleep 0.1; done
            kill -0 "$sensor_pid" 2>/dev/null || note "the sensor died on SIGHUP: $(tail -n1 "$d/sensor.log")"
            grep -qi 'reload' "$d/sensor.log" || note "no reload logged after SIGHUP"
        fi
        sleep 0.5
    else
        note "the sensor was not ready: $(tail -n1 "$d/sensor.log")"
        kill "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null
    fi
    kill -TERM "$sensor_pid" 2>/dev/null
    wait "$sensor_pid"; echo $? >"$d/rc"; sensor_pid=
    kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=
    rm -f "$d/private/node"
}

# who_called EVENTS PORT: "comm:uid" of each ai.request to the fake provider on PORT, sorted
# (the probes see the whole host: other programs' calls may be in EVENTS too)
who_called() {
    "$PY" -c 'import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") == "ai.request" and (":%s/" % sys.argv[2]) in line:
        p = e.get("process") or {}
        print("%s:%s" % (p.get("name"), p.get("uid")))' "$1" "$2" 2>/dev/null | sort | tr '\n' ' '
}

# the unit, moved below $1 as `make install DESTDIR` would, with loopback endpoints off
relocated_unit() {
    local r=$1 out=$2
    "${MAKE_I[@]}" install DESTDIR="$r" >/dev/null 2>&1 || { note "make install failed"; return 1; }
    rm -f "$r/etc/oisp/config.toml.default"
    sed -i -e "s|\"/var/log/oisp/|\"$r/var/log/oisp/|" \
        -e 's|^#listen = "127.0.0.1:\(7777\|9464\)"|listen = ""|' "$r/etc/oisp/config.toml"
    sed -e "s|/usr/bin/oisp-sensor|$r/usr/bin/oisp-sensor|" -e "s|/etc/oisp/|$r/etc/oisp/|" \
        -e "s|/var/log/oisp|$r/var/log/oisp|g" -e "s|/var/lib/oisp|$r/var/lib/oisp|g" -e "s|/run/oisp|$r/run/oisp|g" \
        -e "/^ExecStart=/s|\$| --control $r/run/oisp/control.sock|" \
        "$r/usr/lib/systemd/system/oisp-sensor.service" >"$out"
    chmod 644 "$r/etc/oisp/config.toml"
}

if ! command -v node >/dev/null || ! command -v curl >/dev/null || ! command -v setpriv >/dev/null ||
   ! command -v unshare >/dev/null; then
    skip service_run "needs node, curl, setpriv and unshare"
    skip service_caps "needs node, curl, setpriv and unshare"
elif ! "$PY" -c 'import seccomp' 2>/dev/null || ! command -v systemd-analyze >/dev/null; then
    skip service_run "needs python3-seccomp and systemd-analyze to apply SystemCallFilter (apt-get install python3-seccomp systemd)"
    skip service_caps "needs python3-seccomp and systemd-analyze"
else
    export SECCOMP=$WORK/unit_seccomp.py
    begin service_run
    R=$WORK/service_run/root
    mkdir -p "$WORK/service_run" && chmod 755 "$WORK/service_run"
    if relocated_unit "$R" "$WORK/run.service"; then
        service_scenario service_run "$WORK/run.service"
        d=$WORK/service_run
        [ "$(cat "$d/rc" 2>/dev/null)" = 0 ] || note "the sensor exited with status $(cat "$d/rc" 2>/dev/null) on SIGTERM: $(tail -n1 "$d/sensor.log")"
        ev=$R/var/log/oisp/events.jsonl
        [ "$(stat -c '%u %a' "$ev" 2>/dev/null)" = "$SVC_UID 600" ] ||
            note "events file: owner/mode $(stat -c '%u %a' "$ev" 2>/dev/null), wanted $SVC_UID 600"
        got=$(who_called "$ev" "$(cat "$WORK/service_run/pub/port" 2>/dev/null)")
        [ "$got" = "curl:0 curl:65534 node:65534 " ] || note "captured ai.request from '$got', wanted curl:0 curl:65534 node:65534"
    fi
    end

    begin service_caps
    R=$WORK/service_caps/root
    mkdir -p "$WORK/service_caps" && chmod 755 "$WORK/service_caps"
    if relocated_unit "$R" "$WORK/caps.service"; then
        sed -i '/^\(AmbientCapabilities\|CapabilityBoundingSet\)=/s/ CAP_DAC_READ_SEARCH//' "$WORK/caps.service"
        service_scenario service_caps "$WORK/caps.service"
        got=$(who_called "$R/var/log/oisp/events.jsonl" "$(cat "$WORK/service_caps/pub/port" 2>/dev/null)")
        [ "$got" = "curl:0 curl:65534 " ] ||
            note "without CAP_DAC_READ_SEARCH captured '$got', wanted only curl:0 curl:65534 (the private node missed)"
    fi
    end
fi

# ---------------------------------------------------------------------------------------
# service_systemd: the container's root is an overlay of / (changes go to $WORK), mounted in a
# private mount namespace; inside, systemd boots pkgtest.target, whose one service runs the
# checks below and powers off. The container shares the network (the fake provider's port)
# but has its own PID namespace, so process details in its events are not checked.
cat >"$WORK/pkgtest.sh" <<'EOF'
#!/bin/bash
# pkgtest.sh: runs in the container with systemd as PID 1; prints "CHECK name ok|fail: why"
exec >/root/pkgtest.log 2>&1
check() { if eval "$2"; then echo "CHECK $1 ok"; else echo "CHECK $1 fail: $3"; fi; }
field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
check pid1 '[ "$(cat /proc/1/comm)" = systemd ]' "PID 1 is $(cat /proc/1/comm)"
sed -i 's|^#listen = "127.0.0.1:\(7777\|9464\)"|listen = ""|' /etc/oisp/config.toml
rm -rf /opt/pkgtest/fp; mkdir -p /opt/pkgtest/fp
/usr/bin/python3 /opt/pkgtest/fake_provider.py /opt/pkgtest/fp 2>/opt/pkgtest/fp/err & sp=$!
for i in $(seq 100); do [ -s /opt/pkgtest/fp/port ] && break; sleep 0.1; done
systemctl start oisp-sensor.service
for i in $(seq 150); do journalctl -u oisp-sensor --no-pager | grep -q 'oisp-sensor: ready' && break; sleep 0.2; done
check ready 'journalctl -u oisp-sensor --no-pager | grep -q "oisp-sensor: ready"' \
    "$(journalctl -u oisp-sensor --no-pager | tail -n 2 | tr '\n' ' ')"
pid=$(systemctl show -p MainPID --value oisp-sensor)
check user '[ "$(field Uid)" = "$(id -u oisp)" ]' "uid $(field Uid), not oisp"
check caps '[ "$(field CapAmb)" = 000000c000280004 ] && [ "$(field CapEff)" = 000000c000280004 ]' \
    "CapAmb $(field CapAmb) CapEff $(field CapEff), wanted 000000c000280004"
check nnp '[ "$(field NoNewPrivs)" = 1 ]' "NoNewPrivileges not in force"
E2E_PORT=$(cat /opt/pkgtest/fp/port) E2E_CA=/opt/pkgtest/fp/cert.pem bash /opt/pkgtest/curl.sh openai plain >/dev/null
E2E_PORT=$(cat /opt/pkgtest/fp/port) E2E_CA=/opt/pkgtest/fp/cert.pem bash /opt/pkgtest/curl.sh anthropic plain >/dev/null
sleep 1
systemctl reload oisp-sensor; sleep 1
check reload 'systemctl is-active -q oisp-sensor && journalctl -u oisp-sensor --no-pager | grep -q "configuration reloaded"' \
    "no reload logged"
cp /etc/oisp/config.toml /root/config.good; echo "not toml" >>/etc/oisp/config.toml
systemctl reload oisp-sensor; sleep 1
check bad_reload 'systemctl is-active -q oisp-sensor && journalctl -u oisp-sensor --no-pager | grep -q "keeping the running configuration"' \
    "a bad config was not refused"
cp /root/config.good /etc/oisp/config.toml
systemctl stop oisp-sensor
check stop '[ "$(systemctl show -p Result --value oisp-sensor)" = success ] && [ "$(systemctl show -p NRestarts --value oisp-sensor)" = 0 ]' \
    "$(systemctl show -p Result -p NRestarts -p ExecMainStatus oisp-sensor | tr '\n' ' ')"
check events 'grep -q "\"ai.request\"" /var/log/oisp/events.jsonl' "no ai.request in /var/log/oisp/events.jsonl"
check events_mode '[ "$(stat -c "%U %a" /var/log/oisp/events.jsonl)" = "oisp 600" ]' \
    "$(stat -c "%U %a" /var/log/oisp/events.jsonl)"
kill $sp
echo DONE
systemctl poweroff
EOF
if ! command -v systemd-nspawn >/dev/null; then
    skip service_systemd "systemd-nspawn is not installed (apt-get install systemd-container)"
elif [ ! -f "${DEB:-}" ]; then
    skip service_systemd "no .deb (deb_build failed)"
elif [ -d /run/systemd/system ]; then
    skip service_systemd "systemd is PID 1 here: this test boots its own in a container only where it is not"
else
    begin service_systemd
    N=$WORK/ns
    mkdir -p "$N/upper" "$N/work" "$N/merged"
    unshare -m --propagation private /bin/bash -c '
        set -e
        N=$1 DEB=$2 ROOT=$3 T=$4
        mount -t overlay overlay -o "lowerdir=/,upperdir=$N/upper,workdir=$N/work" "$N/merged"
        chroot "$N/merged" dpkg -i "$DEB" >"$N/dpkg.log" 2>&1
        mkdir -p "$N/merged/opt/pkgtest"
        cp "$ROOT/tests/e2e/fake_provider.py" "$ROOT/tests/e2e/clients/curl.sh" "$T" "$N/merged/opt/pkgtest/"
        printf "[Unit]\nRequires=basic.target pkgtest.service\nAfter=basic.target\n" \
            >"$N/merged/etc/systemd/system/pkgtest.target"
        printf "[Unit]\nAfter=basic.target\n[Service]\nType=oneshot\nExecStart=/bin/bash /opt/pkgtest/pkgtest.sh\n" \
            >"$N/merged/etc/systemd/system/pkgtest.service"
        timeout 120 systemd-nspawn -D "$N/merged" --keep-unit --register=no --link-journal=no \
            --resolv-conf=off --timezone=off --capability=CAP_BPF,CAP_PERFMON \
            --system-call-filter="bpf perf_event_open" -b -- systemd.unit=pkgtest.target \
            >"$N/nspawn.log" 2>&1 || true
        umount "$N/merged"
    ' bash "$N" "$DEB" "$ROOT" "$WORK/pkgtest.sh" >"$WORK/ns.err" 2>&1 ||
        note "container setup failed: $(tail -n1 "$WORK/ns.err")"
    rmdir /run/systemd/nspawn/propagate /run/systemd/nspawn/locks /run/systemd/nspawn 2>/dev/null
    res=$N/upper/root/pkgtest.log
    if [ ! -f "$res" ]; then
        note "the container ran no test: $(tail -n1 "$N/nspawn.log" 2>/dev/null)"
    else
        grep -q '^DONE' "$res" || note "the container test did not finish: $(tail -n1 "$res")"
        for c in pid1 ready user caps nnp reload bad_reload stop events events_mode; do
            grep -q "^CHECK $c " "$res" || note "check $c did not run"
        done
        bad=$(grep '^CHECK .* fail' "$res" | head -n1)
        [ -z "$bad" ] || note "${bad#CHECK }"
    fi
    end
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
