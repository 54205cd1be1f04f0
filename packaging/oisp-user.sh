#!/bin/sh
# oisp-user.sh [SYSCONFDIR]: creates the `oisp` system user and group the
# service runs as (if missing), gives it /var/lib/oisp and /var/log/oisp
# (mode 0750), and lets its group read SYSCONFDIR/oisp/config.toml (mode
# 0640, root:oisp: the file may hold sink tokens).  Idempotent.  Used by
# `make install`, the .deb postinst and the .rpm %post (which embed it).
set -e
oisp_setup_user() {
    etc=${1:-/etc}
    if ! getent group oisp >/dev/null; then
        groupadd --system oisp
    fi
    if ! getent passwd oisp >/dev/null; then
        nologin=/usr/sbin/nologin
        [ -x "$nologin" ] || nologin=/sbin/nologin
        useradd --system --gid oisp --home-dir /var/lib/oisp --no-create-home \
            --shell "$nologin" --comment "OISP sensor" oisp
    fi
    install -d -m 0750 -o oisp -g oisp /var/lib/oisp /var/log/oisp
    if [ -f "$etc/oisp/config.toml" ]; then
        chgrp oisp "$etc/oisp/config.toml"
        chmod g+r,o-rwx "$etc/oisp/config.toml"
    fi
}
oisp_setup_user "$@"
