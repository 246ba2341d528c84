"""Framing: every message on every pipe is a 4-byte big-endian length and a JSON body.

Role: the one module both ends share. The host (`sandbox.forkserver`) imports `HEADER` and
`frame` from here so that both ends frame alike; inside the sandbox every process reads and
writes its messages with `read_msg` / `write_msg`. `take_tests` copies a job's message B (the
tests) into a sealed memfd that only S1 and J read. Standard library only.
"""

import fcntl
import json
import os
import struct

MAX_MSG = 64 << 20          # largest message accepted from anyone
HEADER = struct.Struct(">I")  # every message: 4-byte big-endian length, then JSON

class Gone(Exception):
    """The other end closed its pipe (the sample died or exited)."""


def read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            raise Gone()
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_msg(fd):
    (n,) = HEADER.unpack(read_exact(fd, 4))
    if n > MAX_MSG:
        raise ValueError(f"message of {n} bytes is over the {MAX_MSG} byte limit")
    return json.loads(read_exact(fd, n))


def frame(obj):
    """One message as bytes (the host side, `sandbox.forkserver`, uses this too)."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


def write_msg(fd, obj):
    data = frame(obj)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def take_tests(src=0):
    """Message B (the tests) from `src` (stdin; the numpy zygote's job pipe) into a sealed
    memfd, without passing through this process's memory where the copy-and-splice path
    allows (later samples are forked from here): J and S1 read it from the memfd, nobody can
    change it."""
    head = read_exact(src, 4)
    (n,) = HEADER.unpack(head)
    if n > MAX_MSG:
        raise ValueError(f"message of {n} bytes is over the {MAX_MSG} byte limit")
    fd = os.memfd_create("tests", os.MFD_ALLOW_SEALING)
    os.write(fd, head)
    left = n
    while left:
        try:
            got = os.splice(src, fd, left)
        except OSError:
            got = _copy_through_zeroed_buffer(src, fd, left)
        if not got:
            os.close(fd)
            raise Gone()
        left -= got
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK
                | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


_BUF = []  # made on first use: 1 MiB less for every fork of the server to map


def _copy_through_zeroed_buffer(src, fd, left):
    if not _BUF:
        _BUF.append(bytearray(1 << 20))
    view = memoryview(_BUF[0])[: min(left, len(_BUF[0]))]
    got = os.readv(src, [view])
    os.write(fd, view[:got])
    view[:got] = bytes(got)
    return got
