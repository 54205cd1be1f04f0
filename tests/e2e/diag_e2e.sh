#!/usr/bin/env bash
# diag_e2e.sh: end-to-end tests of the diagnostic commands on this machine,
# against real processes (run as root):
#   - `check` passes here (exit 0, no FAIL line), and without privileges it
#     fails with a fix on each FAIL line;
#   - `diagnose --pid` of python3 after `import ssl` (OpenSSL, dynamic,
#     attachable), of `sleep` (no TLS, and says so), of node (OpenSSL, static,
#     attachable), of a process using GnuTLS (not supported, says why), of a
#     node whose binary was deleted (cannot attach, says why), of a node that
#     exists only in its own mount namespace (attachable), of a missing pid;
#   - `ssl-info` lists libssl.so.3 and node, with the pids using them.
# usage: sudo tests/e2e/diag_e2e.sh      (OISP_SENSOR=path overrides the binary)
set -u
cd "$(dirname "$0")/../.."
BIN=${OISP_SENSOR:-build/oisp-sensor}
LIBSSL=/usr/lib/x86_64-linux-gnu/libssl.so.3
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL  $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -40 | sed 's/^/      /'; fi
}
# expect NAME PYTHON-EXPRESSION FILE: the expression over j (the JSON in FILE) is true
expect() {
    if python3 - "$3" "$2" <<'EOF' 2>"$tmp/py.err"; then ok "$1"; else bad "$1" "$(cat "$3" "$tmp/py.err")"; fi
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}

if [ "$(id -u)" != 0 ]; then echo "diag_e2e.sh: run as root"; exit 2; fi
if [ ! -x "$BIN" ]; then echo "diag_e2e.sh: no $BIN (run make)"; exit 2; fi
BIN=$(realpath "$BIN")

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# Starts a command in the background that prints its pid on its first line
# when ready; sets $started to that pid.
start_ready() {
    local out=$tmp/ready.$RANDOM
    "$@" >"$out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        started=$(head -n1 "$out" 2>/dev/null)
        if [[ $started =~ ^[0-9]+$ ]]; then return 0; fi
        sleep 0.1
    done
    started=""
    return 1
}

# ---- check -------------------------------------------------------------------------
"$BIN" check >"$tmp/check.txt" 2>&1
rc=$?
if [ $rc = 0 ]; then ok "check exits 0"; else bad "check exits $rc" "$(cat "$tmp/check.txt")"; fi
if grep -q '^FAIL' "$tmp/check.txt"; then
    bad "check: no FAIL lines" "$(grep '^FAIL' "$tmp/check.txt")"
else
    ok "check: no FAIL lines"
fi
for c in kernel btf privileges memlock uprobes "ring buffer" "uprobe programs" tracepoints "tls libraries"; do
    if grep -qE "^PASS +$c " "$tmp/check.txt"; then ok "check: PASS $c"; else
        bad "check: PASS $c" "$(grep -E "^[A-Z]+ +$c " "$tmp/check.txt")"; fi
done
if grep -qE "^PASS +tls libraries .*libssl\.so\.3 \(OpenSSL 3\.[0-9]" "$tmp/check.txt"; then
    ok "check: libssl.so.3 listed with its version"
else
    bad "check: libssl.so.3 listed with its version" "$(grep 'tls libraries' "$tmp/check.txt")"
fi
"$BIN" check --json >"$tmp/check.json"
expect "check --json: failed == 0, every check has a status" \
    'j["failed"] == 0 and all(c["status"] in ("PASS","WARN","FAIL","INFO") for c in j["checks"]) and len(j["checks"]) >= 15' \
    "$tmp/check.json"

# Without privileges the BPF checks fail, each with a fix, and the exit status says so.
if command -v setpriv >/dev/null; then
    setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
        "$BIN" check >"$tmp/check_nobody.txt" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -qE '^FAIL +privileges .*-> fix: ' "$tmp/check_nobody.txt" &&
        ! grep -E '^FAIL' "$tmp/check_nobody.txt" | grep -vq -- '-> fix: '; then
        ok "check without privileges: exit 1, every FAIL says how to fix it"
    else
        bad "check without privileges: exit 1, every FAIL says how to fix it (rc=$rc)" \
            "$(cat "$tmp/check_nobody.txt")"
    fi
fi

# ---- diagnose ----------------------------------------------------------------------
if start_ready python3 -c 'import ssl, os, time; print(os.getpid(), flush=True); time.sleep(300)'; then
    py=$started
    "$BIN" diagnose --pid "$py" --json >"$tmp/py.json"
    expect "diagnose python3 (import ssl): OpenSSL dynamic, attachable" \
        'j["openssl"] == "dynamic" and j["attachable"] is True and any("libssl.so" in f["path"] and f["probed"] and f["linkage"] == "shared library" for f in j["files"])' \
        "$tmp/py.json"
    "$BIN" diagnose --pid "$py" >"$tmp/py.txt"
    if grep -q '^OpenSSL    dynamic' "$tmp/py.txt" && grep -q '^attach     yes' "$tmp/py.txt" &&
        grep -q 'probed: yes' "$tmp/py.txt"; then
        ok "diagnose python3 (text): dynamic, attach yes, probe sites"
    else
        bad "diagnose python3 (text): dynamic, attach yes, probe sites" "$(cat "$tmp/py.txt")"
    fi
else
    bad "python3 with ssl started"
fi

sleep 100 &
sl=$!
pids+=($sl)
sleep 0.2
"$BIN" diagnose --pid "$sl" --json >"$tmp/sleep.json"
expect "diagnose sleep: no TLS, not attachable, explained" \
    'j["files"] == [] and j["attachable"] is False and j["openssl"] == "none" and "maps no TLS library and its binary has no TLS functions" in j["verdict"]' \
    "$tmp/sleep.json"
"$BIN" diagnose --pid "$sl" >"$tmp/sleep.txt"
if grep -q '^verdict    no TLS: this process maps no TLS library' "$tmp/sleep.txt"; then
    ok "diagnose sleep (text): explains a process that is not using TLS"
else
    bad "diagnose sleep (text): explains a process that is not using TLS" "$(cat "$tmp/sleep.txt")"
fi

if command -v node >/dev/null; then
    if start_ready node -e 'console.log(process.pid); setTimeout(() => {}, 300000)'; then
        nd=$started
        "$BIN" diagnose --pid "$nd" --json >"$tmp/node.json"
        expect "diagnose node: OpenSSL static, attachable" \
            'j["openssl"] == "static" and j["attachable"] is True and any(f["linkage"] == "static in binary" and f["probed"] and f["stacks"][0]["name"] == "OpenSSL" for f in j["files"])' \
            "$tmp/node.json"
    else
        bad "node started"
    fi
    # A node whose binary is deleted while it runs: the sensor cannot attach by path.
    cp "$(realpath "$(command -v node)")" "$tmp/node-copy"
    if start_ready "$tmp/node-copy" -e 'console.log(process.pid); setTimeout(() => {}, 300000)'; then
        rm -f "$tmp/node-copy"
        "$BIN" diagnose --pid "$started" --json >"$tmp/deleted.json"
        expect "diagnose deleted node: not attachable, says the file was deleted" \
            'j["attachable"] is False and j["exe_deleted"] is True and "deleted" in j["verdict"] and j["openssl"] == "static"' \
            "$tmp/deleted.json"
    else
        bad "copied node started"
    fi
fi

# A node that exists only in its own mount namespace (a container's view):
# reached through /proc/PID/root, like the sensor does.
if command -v node >/dev/null && command -v unshare >/dev/null; then
    if start_ready unshare -m --propagation private sh -c \
        'mount -t tmpfs none /mnt && cp "$0" /mnt/node && exec /mnt/node -e "console.log(process.pid); setTimeout(() => {}, 300000)"' \
        "$(realpath "$(command -v node)")"; then
        "$BIN" diagnose --pid "$started" --json >"$tmp/ns.json"
        expect "diagnose node in another mount namespace: attachable through /proc/PID/root" \
            'j["mount_namespace"].startswith("other") and j["attachable"] is True and j["files"][0]["path"] == "/mnt/node" and j["files"][0]["opened_as"].endswith("/root/mnt/node")' \
            "$tmp/ns.json"
    else
        bad "node in a new mount namespace started"
    fi
fi

if ls /usr/lib/x86_64-linux-gnu/libgnutls.so.30 >/dev/null 2>&1; then
    if start_ready python3 -c 'import ctypes, os, time; ctypes.CDLL("libgnutls.so.30"); print(os.getpid(), flush=True); time.sleep(300)'; then
        "$BIN" diagnose --pid "$started" --json >"$tmp/gnutls.json"
        expect "diagnose GnuTLS user: GnuTLS found, not supported yet, not attachable" \
            'j["attachable"] is False and any(s["name"] == "GnuTLS" for f in j["files"] for s in f["stacks"]) and "not supported yet" in j["verdict"]' \
            "$tmp/gnutls.json"
    else
        bad "python3 with GnuTLS started"
    fi
fi

"$BIN" diagnose --pid 4194300 >"$tmp/missing.txt" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q 'no process with pid 4194300' "$tmp/missing.txt"; then
    ok "diagnose of a missing pid: clear error, exit 1"
else
    bad "diagnose of a missing pid: clear error, exit 1 (rc=$rc)" "$(cat "$tmp/missing.txt")"
fi
"$BIN" diagnose --pid abc >"$tmp/badpid.txt" 2>&1
rc=$?
if [ $rc = 2 ]; then ok "diagnose --pid abc: usage error"; else bad "diagnose --pid abc: usage error (rc=$rc)"; fi

# ---- ssl-info ----------------------------------------------------------------------
"$BIN" ssl-info >"$tmp/si.txt" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q "^$LIBSSL " "$tmp/si.txt"; then ok "ssl-info lists $LIBSSL"; else
    bad "ssl-info lists $LIBSSL (rc=$rc)" "$(head -40 "$tmp/si.txt")"; fi
if command -v node >/dev/null; then
    node_path=$(realpath "$(command -v node)")
    if grep -q "^$node_path " "$tmp/si.txt"; then ok "ssl-info lists node ($node_path)"; else
        bad "ssl-info lists node ($node_path)" "$(head -60 "$tmp/si.txt")"; fi
fi
"$BIN" ssl-info --json >"$tmp/si.json"
expect "ssl-info --json: libssl.so.3 probed, with the python3 pid" \
    "any(f['path'] == '$LIBSSL' and f['probed'] and f['stacks'][0]['name'] == 'OpenSSL' and ${py:-0} in [p['pid'] for p in f['processes']] for f in j['files'])" \
    "$tmp/si.json"
if [ -n "${nd:-}" ]; then
    expect "ssl-info --json: node is static OpenSSL, probed, with the node pid" \
        "any(f['path'] == '$node_path' and f['probed'] and f['linkage'] == 'static in binary' and $nd in [p['pid'] for p in f['processes']] for f in j['files'])" \
        "$tmp/si.json"
fi
expect "ssl-info --json: one entry per (device, inode)" \
    'len({(f["dev"], f["inode"]) for f in j["files"]}) == len(j["files"])' "$tmp/si.json"

echo
echo "$pass passed, $fail failed"
[ $fail = 0 ]
