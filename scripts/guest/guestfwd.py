#!/usr/bin/env python3
"""guestfwd.py PORT: relays one guest connection, on stdin, to 127.0.0.1:PORT.

QEMU's user network runs this once per connection the guest opens to a forwarded port
(`guestfwd=tcp:10.0.2.100:PORT-cmd:python3 guestfwd.py PORT`, see test/helpers/guest.ts).
libslirp hands the command its end of a loopback TCP pair whose other end, inside QEMU, has
Nagle's algorithm on: after a request's first segment it holds the rest until that segment is
acknowledged, and an ordinary receiver (socat) delays that ACK by up to 40 ms whenever the
connection looks interactive, as a request/response protocol does. Every iSCSI WRITE below the
pair's 64 KiB MSS then waited those 40 ms. Only the receiving end can undo it: quick ACKs,
re-armed after every read because the kernel turns them off again. TCP_NODELAY on both
sockets keeps this relay from doing the same to what it sends.
"""

import os
import socket
import sys
import threading

CHUNK = 256 * 1024


def pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(CHUNK)
            if not data:
                break
            source.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            sink.sendall(data)
    except OSError:
        pass
    # Either side gone ends the connection for both, as the guest's and the gateway's TCP expect.
    os._exit(0)


def main() -> None:
    guest = socket.socket(fileno=0)
    try:
        gateway = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        # stderr is the guest's connection too: closing it is the whole answer.
        sys.exit(1)
    for end in (guest, gateway):
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # One thread a direction: a full buffer one way never stalls the other.
    threading.Thread(target=pump, args=(gateway, guest), daemon=True).start()
    pump(guest, gateway)


if __name__ == "__main__":
    main()
