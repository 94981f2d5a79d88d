#!/usr/bin/env bash
# The systemd unit (packaging/livepolld.service.in, as configured into the build folder):
# `systemd-analyze verify` finds nothing to say, it is the service the README and livepolld(8)
# describe, and its sandbox leaves livepolld what it needs (a low exposure in `systemd-analyze
# security`). The unit names /usr/bin/livepolld, which verify checks exists: the copy checked
# here names the build's livepolld instead, and nothing else differs.
source "$(dirname "$0")/lib.sh"
: "${LIVEPOLL_BUILD_DIR:?}" "${LIVEPOLL_SOURCE_DIR:?}"

unit=$LIVEPOLL_BUILD_DIR/packaging/livepolld.service
[[ -f $unit ]] || fail "no configured unit at $unit"
grep -qx 'ExecStart=/usr/bin/livepolld --config /etc/livepoll/livepolld.conf' "$unit" ||
  fail "ExecStart is not the packaged daemon with the packaged config: $(grep ExecStart= "$unit")"
for line in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec=30s Restart=on-failure \
  User=livepoll StateDirectory=livepoll RuntimeDirectory=livepoll ProtectSystem=strict \
  ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes PrivateDevices=yes \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' WantedBy=multi-user.target; do
  grep -qxF "$line" "$unit" || fail "the unit lacks '$line'"
done
# Its Documentation= pages are the project's.
for page in $(sed -n 's/^Documentation=//p' "$unit"); do
  name=${page#man:}
  f=$LIVEPOLL_SOURCE_DIR/man/${name%(*}.${name//[^0-9]/}
  [[ -f $f ]] || fail "Documentation=$page: no $f"
done

mkdir -p "$E2E_TMP/units"
sed "s|^ExecStart=/usr/bin/livepolld |ExecStart=$LIVEPOLLD |" "$unit" >"$E2E_TMP/units/livepolld.service"
# --man=no: the man pages are checked above (they are not installed on this machine).
out=$(systemd-analyze verify --man=no "$E2E_TMP/units/livepolld.service" 2>&1) ||
  fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || fail "systemd-analyze verify has something to say: $out"

# The sandbox's exposure as systemd rates it (0 best, 10 worst; "OK" is below 2.0).
exposure=$(systemd-analyze security --offline=true "$E2E_TMP/units/livepolld.service" 2>&1 |
  sed -n 's/.*Overall exposure level for livepolld.service: \([0-9.]*\).*/\1/p')
[[ -n $exposure ]] || fail "systemd-analyze security gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e < 2.0) }' || fail "exposure $exposure, above 2.0"
echo "PASS (systemd-analyze security: exposure $exposure)"
