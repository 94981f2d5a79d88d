# Real partitions on one machine, for tests and benchmarks (source it; bash, root, iproute2).
# Each node gets a network namespace with one veth link whose other end sits on a bridge in the
# host's namespace: all links on the main bridge is a connected cluster; moving some links to the
# side bridge cuts them off from the rest exactly as a switch failure would. The TCP connections
# stay up across a cut (no RST, no FIN): what was sent waits in the kernel and is retransmitted
# after the heal, late and in a burst, which `livepoll fault cut` (dropping at the daemon) does not
# show. Nothing is routed off the machine.
#
# Set before netns_up, unique per concurrent run:
#   NETNS_PREFIX  names of the namespaces, links and bridges (default lp; at most 6 characters:
#                 a link name holds 15)
#   NETNS_NET     the /24 the nodes live in (default 10.213.0): node I is NETNS_NET.I
#
# netns_up N            namespaces PREFIXn1..PREFIXnN on bridge PREFIXbr0 (loopback up in each)
# netns_addr I          node I's address; netns_name I: its namespace
# in_ns I CMD...        runs CMD in node I's namespace (see below for a background process)
# netns_split "I J..."  those nodes' links move to the side bridge PREFIXbr1: two sides
# netns_heal            every link back on the main bridge, and up
# netns_isolate I       node I's link down (alone on its side); netns_rejoin I: up again
# netns_down            removes everything netns_up made (safe to call twice, or after a failed up)
NETNS_N=0

_netns_names() {
  _NS_P=${NETNS_PREFIX:-lp}
  _NS_NET=${NETNS_NET:-10.213.0}
  if ((${#_NS_P} > 6)); then
    echo "netns.sh: NETNS_PREFIX '$_NS_P' is longer than 6 characters" >&2
    return 1
  fi
}

# netns_exec NAME CMD...: CMD in namespace NAME's network, and nothing else changed. Not `ip netns
# exec` or `ip -n`: those also make the whole mount tree a slave ("mount --make-rslave /"), which
# fails where / is not a mount point (a chroot, as tools/fresh-debian.sh makes), while nsenter only
# switches the network namespace, which is all a test host needs.
netns_exec() {
  local ns=$1
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}

netns_up() {
  local n=$1 i ns
  _netns_names || return 1
  NETNS_N=$n
  ip link add "${_NS_P}br0" type bridge || return 1
  ip link add "${_NS_P}br1" type bridge || return 1
  ip link set "${_NS_P}br0" up && ip link set "${_NS_P}br1" up || return 1
  for ((i = 1; i <= n; i++)); do
    ns=${_NS_P}n$i
    ip netns add "$ns" || return 1
    ip link add "${_NS_P}v$i" type veth peer name eth0 netns "$ns" || return 1
    ip link set "${_NS_P}v$i" master "${_NS_P}br0" up || return 1
    netns_exec "$ns" ip addr add "$_NS_NET.$i/24" dev eth0 || return 1
    netns_exec "$ns" ip link set eth0 up && netns_exec "$ns" ip link set lo up || return 1
  done
}

netns_addr() { echo "${_NS_NET:-${NETNS_NET:-10.213.0}}.$1"; }
netns_name() { echo "${_NS_P:-${NETNS_PREFIX:-lp}}n$1"; }
netns_path() { echo "/run/netns/$(netns_name "$1")"; }  # for nsenter --net=

# Runs in the foreground. To start a process in the background, run
# `nsenter --net="$(netns_path I)" -- CMD &` instead: nsenter execs CMD, so $! is CMD's pid; a shell
# function (in_ns, netns_exec) run with & is a subshell, and killing $! would leave CMD running.
in_ns() {
  local i=$1
  shift
  netns_exec "${_NS_P}n$i" "$@"
}

netns_split() {
  local i
  for i in $1; do ip link set "${_NS_P}v$i" master "${_NS_P}br1" || return 1; done
}

netns_heal() {
  local i
  for ((i = 1; i <= NETNS_N; i++)); do
    ip link set "${_NS_P}v$i" master "${_NS_P}br0" && ip link set "${_NS_P}v$i" up || return 1
  done
}

netns_isolate() { ip link set "${_NS_P}v$1" down; }
netns_rejoin() { ip link set "${_NS_P}v$1" up; }

netns_down() {
  local ns
  _netns_names || return 1
  # Every namespace of this prefix, also those of a run killed before it could clean up; a
  # namespace's end of a veth goes with it, and the other end with that.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${_NS_P}n[0-9]+$"); do
    ip netns del "$ns" 2>/dev/null || true
  done
  # A namespace whose last process has just exited is freed later, and its veth with it: the host
  # ends of this prefix go now, so that a next netns_up finds the names free.
  for ns in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
    grep -E "^${_NS_P}v[0-9]+$"); do
    ip link del "$ns" 2>/dev/null || true
  done
  ip link del "${_NS_P}br0" 2>/dev/null || true
  ip link del "${_NS_P}br1" 2>/dev/null || true
}
