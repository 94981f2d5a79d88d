#!/usr/bin/env python3
"""Plays systemd's side of the notify protocol (sd_notify(3)) for the tests.

  notify_listener.py SOCKET OUT [--on-ready CMD...]

Binds a unix datagram socket at SOCKET (a path; NOTIFY_SOCKET for the daemon) and appends one
line per datagram to OUT: the wall-clock time it arrived (seconds, as `date +%s.%N` prints) and
its assignments joined by '|', e.g. "1700000000.123456 READY=1|STATUS=standalone: ...". With
--on-ready, CMD runs the moment the first READY=1 arrives, before anything else is read, and a
line "<time> ON_READY rc=<exit status>" follows: what a unit ordered After= this one would see.
Runs until killed (SIGTERM); the socket file is removed at exit.
"""
import os
import signal
import socket
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, out_path = sys.argv[1], sys.argv[2]
    on_ready = sys.argv[4:] if len(sys.argv) > 3 and sys.argv[3] == "--on-ready" else None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ready_seen = False
    try:
        with open(out_path, "a", buffering=1) as out:
            while True:
                data = sock.recv(65536)
                now = time.time()
                fields = data.decode("utf-8", "replace").strip("\n").split("\n")
                out.write("%.6f %s\n" % (now, "|".join(fields)))
                if on_ready and not ready_seen and "READY=1" in fields:
                    ready_seen = True
                    rc = subprocess.run(on_ready, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL).returncode
                    out.write("%.6f ON_READY rc=%d\n" % (time.time(), rc))
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
