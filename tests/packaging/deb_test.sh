#!/usr/bin/env bash
# The Debian packages (packaging/CMakeLists.txt), built by CPack from a build folder:
#   tests/packaging/deb_test.sh BUILD_DIR              build the .debs (in a temporary folder),
#                                                      lintian, contents and control fields
#   tests/packaging/deb_test.sh BUILD_DIR --install    and then install them in a fresh Debian 12
#                                                      root with apt-get, start the installed
#                                                      daemon with the example config as the
#                                                      livepoll user, and ask it `livepoll status`
# --install needs root, network to Debian's archive, and a Debian 12 minbase root: the tarball
# /work/shared/tools/fresh-debian.sh caches (LP_DEB_ROOT_TARBALL, default
# /tmp/lp-fresh/bookworm-minbase.tar), made here with debootstrap the same way when missing. It
# takes a few minutes, so the test command runs the first form only (ctest: packaging.deb).
# LP_DEB_OUT=DIR keeps the .debs there.
set -euo pipefail
build=$(cd "${1:?usage: deb_test.sh BUILD_DIR [--install]}" && pwd)
install=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/lp-deb-XXXXXX)
root=
cleanup() {
  if [[ -n $root ]]; then
    [[ -f $root/run/livepoll/pid ]] && kill "$(cat "$root/run/livepoll/pid")" 2>/dev/null || true
    for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null || true; done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- build ----
out=${LP_DEB_OUT:-$tmp/debs}
mkdir -p "$out"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$tmp/cpack.log" 2>&1 ||
  fail "cpack failed: $(tail -20 "$tmp/cpack.log")"
version=$(sed -n 's/^project(livepoll VERSION \([0-9.]*\).*/\1/p' "$here/../../CMakeLists.txt")
arch=$(dpkg --print-architecture)
daemon=$out/livepoll_${version}_${arch}.deb
pg=$out/livepoll-plugin-postgres_${version}_${arch}.deb
dev=$out/livepoll-dev_${version}_all.deb
for f in "$daemon" "$pg" "$dev"; do [[ -f $f ]] || fail "not built: $f ($(ls "$out"))"; done
echo "built: $(cd "$out" && ls ./*.deb | tr '\n' ' ')"

# ---- contents ----
contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||'; }
expect() {  # expect DEB PATH...: each PATH is in DEB
  local deb=$1 list p; shift
  list=$(contents "$deb")
  for p in "$@"; do grep -qxF "$p" <<<"$list" || fail "$(basename "$deb") lacks $p"; done
}
libdir=$(contents "$daemon" | sed -n 's|^/usr/\(.*\)/livepoll/plugins/soci.so$|\1|p')
[[ -n $libdir ]] || fail "no soci.so under /usr/*/livepoll/plugins in livepoll: $(contents "$daemon")"
expect "$daemon" /usr/bin/livepolld /usr/bin/livepoll /etc/livepoll/livepolld.conf \
  /lib/systemd/system/livepolld.service /usr/lib/sysusers.d/livepoll.conf \
  /usr/share/man/man1/livepoll.1.gz /usr/share/man/man8/livepolld.8.gz \
  /usr/share/man/man5/livepoll.conf.5.gz /usr/share/man/man7/livepoll-source.7.gz \
  /usr/share/bash-completion/completions/livepoll /usr/share/doc/livepoll/copyright \
  /usr/share/doc/livepoll/changelog.gz
expect "$pg" "/usr/$libdir/livepoll/plugins/postgres.so" \
  /usr/share/doc/livepoll-plugin-postgres/copyright
expect "$dev" /usr/include/livepoll/source.h /usr/share/doc/livepoll-dev/examples/hello.c \
  /usr/share/doc/livepoll-dev/examples/Makefile /usr/share/doc/livepoll-dev/copyright
# Nothing from the build or test trees, no static libraries, no /usr/local.
bad=$( (contents "$daemon"; contents "$pg"; contents "$dev") | grep -E '\.a$|/usr/local|_tests$|fixture' || true)
[[ -z $bad ]] || fail "unexpected files: $bad"
# The installed daemon looks for plugins in /usr/bin/../$libdir/livepoll/plugins (plugin_path.h).
strings "$build/daemon/livepolld" | grep -xF "$libdir/livepoll/plugins" >/dev/null ||
  fail "livepolld does not search $libdir/livepoll/plugins"

# ---- control fields ----
field() { dpkg-deb -f "$1" "$2"; }
depends=$(field "$daemon" Depends)
for d in adduser libc6 libzmq5 libsystemd0 libsoci-sqlite3-4.0 libsodium23; do
  grep -qE "(^|, )$d( |,|$)" <<<"$depends" || fail "livepoll does not depend on $d: $depends"
done
grep -qE "(^|, )libpqxx-6.4( |,|$)" <<<"$(field "$pg" Depends)" ||
  fail "livepoll-plugin-postgres does not depend on libpqxx: $(field "$pg" Depends)"
grep -qF "livepoll (= $version)" <<<"$(field "$pg" Depends)" ||
  fail "livepoll-plugin-postgres does not depend on this livepoll: $(field "$pg" Depends)"
[[ $(field "$daemon" Version) == "$version" ]] || fail "version $(field "$daemon" Version), not $version"
dpkg-deb --ctrl-tarfile "$daemon" | tar -xO ./conffiles | grep -x /etc/livepoll/livepolld.conf >/dev/null ||
  fail "/etc/livepoll/livepolld.conf is not a conffile"

# ---- lintian: every tag (errors, warnings and infos) is one tests/packaging/lintian-expected explains ----
lintian --tag-display-limit 0 --display-info "$daemon" "$pg" "$dev" >"$tmp/lintian.txt" 2>&1 || true
{ grep -E '^[EWIPX]: ' "$tmp/lintian.txt" || true; } | sed -E 's/^([EWIPX]): ([^ ]+)( \([^)]*\))?: ([^ ]+).*/\1 \2 \4/' |
  sort -u >"$tmp/tags"
allowed=$({ grep -vE '^\s*(#|$)' "$here/lintian-expected" || true; } | awk '{ print $1 " " $2 " " $3 }' | sort -u)
unexplained=$(comm -23 "$tmp/tags" <(echo "$allowed") || true)
[[ -z $unexplained ]] || fail "lintian tags not explained in tests/packaging/lintian-expected:
$unexplained
(full output: $(cat "$tmp/lintian.txt"))"
echo "lintian: $(wc -l <"$tmp/tags") tag(s), each explained in lintian-expected"
sed 's/^/  /' "$tmp/tags"

[[ $install == --install ]] || { echo "PASS (built and checked; --install installs them)"; exit 0; }

# ---- install in a fresh Debian 12 root ----
[[ $(id -u) -eq 0 ]] || fail "--install needs root (chroot, mounts)"
tarball=${LP_DEB_ROOT_TARBALL:-/tmp/lp-fresh/bookworm-minbase.tar}
if [[ ! -f $tarball ]]; then
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  mkdir -p "$(dirname "$tarball")" "$tmp/boot"
  debootstrap --variant=minbase bookworm "$tmp/boot" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    fail "debootstrap: $(tail -3 "$tmp/debootstrap.log")"
  cp /etc/apt/sources.list.d/debian.sources "$tmp/boot/etc/apt/sources.list.d/"
  rm -f "$tmp/boot/etc/apt/sources.list"
  tar -C "$tmp/boot" -cf "$tarball" . && rm -rf "$tmp/boot"
fi
root=$tmp/root
mkdir -p "$root"
tar -C "$root" -xf "$tarball"
cp /etc/resolv.conf "$root/etc/"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs sys "$root/sys"
mkdir -p "$root/tmp/debs"
cp "$daemon" "$pg" "$dev" "$root/tmp/debs/"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  /tmp/debs/livepoll_*.deb /tmp/debs/livepoll-plugin-postgres_*.deb /tmp/debs/livepoll-dev_*.deb' \
  >"$tmp/apt.log" 2>&1 || fail "apt-get install: $(tail -20 "$tmp/apt.log")"
echo "installed in a fresh Debian 12 root: $(grep -c '^Setting up' "$tmp/apt.log") packages set up"
in_root id livepoll >/dev/null || fail "postinst made no livepoll user"
# (by number: the root's user names are not this machine's)
[[ $(stat -c %u "$root/var/lib/livepoll") == "$(in_root id -u livepoll)" ]] ||
  fail "/var/lib/livepoll is not livepoll's"
# What the unit's RuntimeDirectory= does (no systemd in a chroot), then the unit's ExecStart as
# its User=.
install -d -m 0750 -o "$(in_root id -u livepoll)" -g "$(in_root id -g livepoll)" "$root/run/livepoll"
in_root setpriv --reuid=livepoll --regid=livepoll --init-groups \
  sh -c 'echo $$ >/run/livepoll/pid; exec /usr/bin/livepolld --config /etc/livepoll/livepolld.conf' \
  >"$tmp/daemon.log" 2>&1 &
status() { in_root livepoll --connect ipc:///run/livepoll/admin.sock --timeout 500ms status; }
for _ in $(seq 1 100); do
  status >"$tmp/status.txt" 2>&1 && break
  sleep 0.2
done
status >"$tmp/status.txt" 2>&1 || fail "the installed daemon does not answer: $(cat "$tmp/status.txt")
$(cat "$tmp/daemon.log")"
echo "livepoll status (installed daemon, example config):"
sed 's/^/  /' "$tmp/status.txt"
grep -q "loaded plugin soci .* from /usr/$libdir/livepoll/plugins/soci.so" "$tmp/daemon.log" ||
  fail "the installed daemon did not load the installed soci plugin: $(cat "$tmp/daemon.log")"
in_root livepoll --connect ipc:///run/livepoll/admin.sock watch tables --count 1 >"$tmp/watch.txt" 2>&1 ||
  fail "watch tables: $(cat "$tmp/watch.txt")"
grep -q '"kind": *"snapshot"' "$tmp/watch.txt" || fail "watch tables: $(cat "$tmp/watch.txt")"
[[ -f $root/var/lib/livepoll/example.db ]] || fail "no example.db in /var/lib/livepoll"
in_root sh -c 'cd /tmp && cp /usr/share/doc/livepoll-dev/examples/* . && command -v cc >/dev/null' &&
  echo "(a compiler is present: the example plugin could be built)" || true
kill "$(cat "$root/run/livepoll/pid")"
for _ in $(seq 1 50); do kill -0 "$(cat "$root/run/livepoll/pid")" 2>/dev/null || break; sleep 0.1; done
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq livepoll-dev livepoll-plugin-postgres livepoll' \
  >"$tmp/purge.log" 2>&1 || fail "apt-get purge: $(tail -20 "$tmp/purge.log")"
[[ ! -e $root/etc/livepoll/livepolld.conf ]] || fail "purge left /etc/livepoll/livepolld.conf"
echo "PASS (installed, served livepoll status and a watch as the livepoll user, purged)"
