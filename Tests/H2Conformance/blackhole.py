"""A server that never errs: the self-check that every case can fail.

It completes the preface exchange (its SETTINGS and the ACK of the client's, RFC 9113
§3.4) so that each case gets past its handshake, then reads and discards everything and
answers nothing: no response, no PING ACK, no GOAWAY, no close. A case that passes
against it checks nothing. Prints its port, serves on 127.0.0.1 until killed or
--seconds pass.
"""

import argparse
import socket
import sys
import threading
import time

from hyperframe.frame import SettingsFrame


def swallow(conn):
    with conn:
        try:
            conn.sendall(SettingsFrame(0).serialize() + SettingsFrame(0, flags=["ACK"]).serialize())
            while conn.recv(1 << 16):
                pass
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop after this long at most")
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    listener.settimeout(0.5)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        threading.Thread(target=swallow, args=(conn,), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
