"""The seccomp filter of S1, the sample's own run: kernel stores that outlive a process refused.

Role: S1 has seen the tests, so nothing it knows may reach a later process. This classic-BPF
program (x86_64) makes SysV IPC, POSIX message queues and keyrings fail with EPERM. The server
builds the ctypes call once (`prepare`, at start); each S1 calls `deny_kernel_stores` after
fork. Where there is no filter, S1 reports so and the judge decides every sample.
"""

import os
import struct

def _bpf_program():
    """A classic-BPF seccomp program (x86_64): SysV IPC, POSIX message queues and keyrings,
    the kernel stores that outlive a process, fail with EPERM; the rest is allowed."""
    if os.uname().machine != "x86_64":
        return None
    denied = (29, 64, 68, 240, 248, 249, 250)  # shmget semget msgget mq_open add_key request_key keyctl
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    k = len(denied)
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, 0xC000003E), (ret, 0, 0, eperm), (ld, 0, 0, 0),
            (jge, k + 1, 0, 0x40000000)]
    prog += [(jeq, k - j, 0, nr) for j, nr in enumerate(denied)]
    prog += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
    return b"".join(struct.pack("HBBI", code, jt, jf, kk) for code, jt, jf, kk in prog)


FILTER = _bpf_program()

#: [prctl, byref(sock_fprog), its buffers (kept alive), c_ulong, get_errno], made once in the
#: server by `prepare` (filled in place) so that each fork only calls; empty: no filter here.
PRCTL = []


def prepare():
    """Load libc and build the filter's sock_fprog in the server (each S1 saves ~1 ms)."""
    if FILTER is None:
        return
    try:
        import ctypes

        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(FILTER, len(FILTER))
        prog = Prog(len(FILTER) // 8, ctypes.addressof(buf))
        PRCTL[:] = [libc.prctl, ctypes.byref(prog), buf, prog, ctypes.c_ulong, ctypes.get_errno]
    except (ImportError, OSError, AttributeError):
        PRCTL[:] = []


def deny_kernel_stores():
    if not PRCTL:
        raise OSError("no seccomp filter for this machine")
    prctl, prog_ref, _, _, ulong, errno = PRCTL
    z = ulong(0)
    if prctl(38, ulong(1), z, z, z) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(errno(), "PR_SET_NO_NEW_PRIVS")
    if prctl(22, ulong(2), prog_ref, z, z) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(errno(), "PR_SET_SECCOMP")
