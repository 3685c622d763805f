"""Netlink sockets of the pyroute2 backend: send, receive, match replies.

Shaped like the C core's csrc/sock.c:

* a socket is configured once (large buffers, ``NETLINK_EXT_ACK``, bound,
  a timeout) and kept per namespace in a :class:`Conn`, which numbers its
  requests and counts its ``send`` calls into the backend's statistics;
* :func:`transact` sends a run of encoded requests concatenated, in as few
  ``send`` calls as the receive buffer allows (every ack must fit in it at
  once), and matches each ack to its request by sequence number and port
  id: ``(errno, ext-ack text, reply)`` per request, where ``reply`` is the
  ``RTM_NEWLINK`` message the kernel sent for that sequence (a
  ``RTM_GETLINK`` answer, or an ``NLM_F_ECHO`` of a creation);
* :func:`batch` sends an nfnetlink transaction (batch begin, messages,
  batch end) in one ``send``, the buffers raised to hold it and all its
  acks, and maps the acks to all-or-nothing results;
* :func:`dump` sends one dump request and collects the messages of one
  type until ``NLMSG_DONE``, again if the dump was interrupted.

What the messages mean is for encode.py and decode.py: here they are
bytes with a netlink header.
"""

from __future__ import annotations

import errno as E
import os
import socket
import struct

from pyroute2.netlink import NLMSG_DONE, NLMSG_ERROR, nlmsgerr
from pyroute2.netlink.rtnl import RTM_NEWLINK

__all__ = ["Conn", "setup", "setup_nfnl", "transact", "dump", "batch",
           "messages", "error_code", "ext_ack"]

SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
NETLINK_CAP_ACK = 10
NLM_F_DUMP_INTR = 0x10
NLM_F_CAPPED = 0x100            # an ack echoes only the request's header
NLM_F_ACK_TLVS = 0x200          # an ack carries extended-ack attributes

_SNDBUF = 1 << 20
_RCVBUF = 4 << 20
RECV_SIZE = 1 << 16
# messages per send(): every ack (and RTM_NEWLINK reply) must fit in the
# receive buffer at once, counted at its skb truesize (a few KiB at most)
_CHUNK_MSGS = 256
_CHUNK_BYTES = 1 << 16
_ACK_ROOM = 2048                # receive buffer per queued ack (truesize)
_TIMEOUT = 30.0
_DUMP_TRIES = 10
_HDR = struct.Struct("=IHHII")
_I32 = struct.Struct("=i")
_SEQ = struct.Struct("=I")
_U32 = _SEQ


def setup(sock: socket.socket) -> socket.socket:
    """Configure a fresh rtnetlink socket (closed if that fails)."""
    try:
        for opt, force, size in ((socket.SO_SNDBUF, SO_SNDBUFFORCE, _SNDBUF),
                                 (socket.SO_RCVBUF, SO_RCVBUFFORCE, _RCVBUF)):
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, size)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, opt, size)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        sock.bind((0, 0))
        sock.settimeout(_TIMEOUT)
    except BaseException:
        sock.close()
        raise
    return sock


class Conn:
    """One namespace's configured socket: its identity, port id, sequence,
    and the statistics its ``send`` calls are counted into."""

    __slots__ = ("sock", "ident", "portid", "seq", "stats")

    def __init__(self, sock, ident, stats: dict):
        self.sock = sock
        self.ident = ident
        self.portid = sock.getsockname()[0]
        self.seq = 0
        self.stats = stats

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0x7FFFFFFF or 1
        return self.seq

    def send(self, data) -> None:
        self.stats["sendmsg"] += 1
        self.sock.send(data)

    def close(self) -> None:
        self.sock.close()


def messages(buf):
    """``(offset, length, type, flags, seq, portid)`` of each whole message
    in a received buffer."""
    off, end = 0, len(buf)
    while off + 16 <= end:
        length, mtype, flags, seq, pid = _HDR.unpack_from(buf, off)
        if length < 16 or off + length > end:
            return
        yield off, length, mtype, flags, seq, pid
        off += (length + 3) & ~3


def error_code(buf, off: int) -> int:
    """The errno of the NLMSG_ERROR at ``off`` (0: an ack)."""
    return -_I32.unpack_from(buf, off + 16)[0]


class _ack(nlmsgerr):
    """pyroute2's nlmsgerr, its TLVs read after the request the kernel
    echoes: the whole of it, or only its header when the ack is capped
    (``NETLINK_CAP_ACK``).  pyroute2 reads the echo as one attribute,
    which skips it only when it is whole."""

    __slots__ = ()

    def decode_nlas(self, offset):
        if self["header"]["flags"] & NLM_F_CAPPED:
            echoed = 16
        else:
            echoed = max(_U32.unpack_from(self.data, offset)[0], 16)
        nlmsgerr.decode_nlas(self, offset + ((echoed + 3) & ~3))


def ext_ack(data, off: int) -> str:
    """The NLMSGERR_ATTR_MSG of the error message at ``off`` ("" if none),
    decoded by pyroute2's nlmsgerr."""
    if not _HDR.unpack_from(data, off)[2] & NLM_F_ACK_TLVS:
        return ""
    try:
        m = _ack(data, offset=off)
        m.decode()
        text = m.get_attr("NLMSGERR_ATTR_MSG")
    except Exception:  # a malformed ack must not hide the errno
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text or ""


def transact(conn: Conn, reqs: list) -> list:
    """Send ``reqs`` (encoded requests, sequence 0) in as few sends as the
    buffers allow; ``(errno, message, reply)`` per request, ``reply`` the
    bytes of the ``RTM_NEWLINK`` the kernel sent for it (else None)."""
    out: list = [None] * len(reqs)
    i = 0
    n = len(reqs)
    while i < n:
        chunk = []
        size = 0
        by_seq = {}
        while i < n and len(chunk) < _CHUNK_MSGS and size < _CHUNK_BYTES:
            seq = conn.next_seq()
            data = bytearray(reqs[i])
            _SEQ.pack_into(data, 8, seq)
            chunk.append(data)
            size += len(data)
            by_seq[seq] = i
            i += 1
        _exchange(conn, b"".join(chunk), by_seq, out)
    return out


def _exchange(conn, data, by_seq, out):
    replies: dict = {}
    pending = dict(by_seq)
    try:
        conn.send(data)
    except OSError as exc:
        err = exc.errno or E.EIO
        for k in pending.values():
            out[k] = (err, f"send: {os.strerror(err)}", None)
        return
    sock = conn.sock
    portid = conn.portid
    while pending:
        try:
            buf = sock.recv(RECV_SIZE)
        except OSError as exc:
            # ENOBUFS (acks lost), timeout: what is left is unknown
            err = getattr(exc, "errno", None) or E.ETIMEDOUT
            for k in pending.values():
                out[k] = (err, f"recv: {os.strerror(err)}", None)
            return
        for off, length, mtype, _, seq, pid in messages(buf):
            if pid != portid or seq not in pending:
                continue
            if mtype == NLMSG_ERROR:
                code = error_code(buf, off)
                k = pending.pop(seq)
                if code:
                    out[k] = (code, ext_ack(buf, off), None)
                else:
                    out[k] = (0, "", replies.get(seq))
            elif mtype == RTM_NEWLINK and seq not in replies:
                replies[seq] = buf[off:off + length]


def dump(conn: Conn, request: bytes, want: int) -> list:
    """Every message of type ``want`` (``(buffer, offset)``) answering the
    dump ``request`` (encoded, sequence 0); OSError on an error reply or a
    dump interrupted ten times in a row."""
    for _ in range(_DUMP_TRIES):
        seq = conn.next_seq()
        data = bytearray(request)
        _SEQ.pack_into(data, 8, seq)
        conn.send(data)
        found = []
        intr = False
        done = False
        while not done:
            buf = conn.sock.recv(RECV_SIZE)
            for off, _, mtype, flags, mseq, pid in messages(buf):
                if mseq != seq or pid != conn.portid:
                    continue
                if flags & NLM_F_DUMP_INTR:
                    intr = True
                if mtype == NLMSG_DONE:
                    done = True
                    break
                if mtype == NLMSG_ERROR:
                    code = error_code(buf, off)
                    if code:
                        raise OSError(code, ext_ack(buf, off)
                                      or os.strerror(code))
                    done = True
                    break
                if mtype == want:
                    found.append((buf, off))
        if not intr:
            return found
    raise OSError(E.EINTR, "dump interrupted ten times in a row")


# ------------------------------------------------- nfnetlink transactions

def setup_nfnl(sock: socket.socket) -> socket.socket:
    """Configure a fresh nfnetlink socket as the rtnetlink ones
    (:func:`setup`), and ask for acks without a copy of the
    refused message (``NETLINK_CAP_ACK``: a refused element list can be
    ~1 MiB)."""
    sock = setup(sock)
    try:
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    except BaseException:
        sock.close()
        raise
    return sock


def _room(sock, opt, force, need):
    """Raise buffer ``opt`` to at least ``need`` bytes (the kernel reports,
    and uses, twice what is set)."""
    if sock.getsockopt(socket.SOL_SOCKET, opt) >= need:
        return
    half = need // 2 + 1
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, half)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, opt, half)


def batch(conn: Conn, begin_msg: bytes, msgs: list, end_msg: bytes) -> list:
    """Send one nfnetlink transaction in one ``send``: ``begin_msg``, the
    messages (``msgs``: per item, its encoded messages, sequence 0),
    ``end_msg``; ``(errno, message)`` per item.

    The kernel acks every message after it committed or aborted the
    whole: with 0 each when it committed (all items: ``(0, "")``); when
    it aborted, with 0 the good ones too, so a refused item gets its
    error and the rest ECANCELED.  An error acking ``begin_msg`` is about
    the transaction itself (its commit failed, no memory for the acks):
    every item gets it."""
    n = len(msgs)
    begin = conn.next_seq()
    parts = [bytearray(begin_msg)]
    _SEQ.pack_into(parts[0], 8, begin)
    owner = {}                           # sequence -> item
    for k, item in enumerate(msgs):
        for raw in item:
            seq = conn.next_seq()
            buf = bytearray(raw)
            _SEQ.pack_into(buf, 8, seq)
            parts.append(buf)
            owner[seq] = k
    end = bytearray(end_msg)
    _SEQ.pack_into(end, 8, conn.next_seq())
    parts.append(end)
    data = b"".join(parts)
    sock = conn.sock
    try:
        _room(sock, socket.SO_SNDBUF, SO_SNDBUFFORCE, len(data) + 65536)
        _room(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE,
              len(owner) * _ACK_ROOM + 65536)
        conn.send(data)
    except OSError as exc:
        err = exc.errno or E.EIO
        return [(err, f"send: {os.strerror(err)}")] * n
    errs: list = [None] * n              # first error of each item
    failed, lost = _receive(conn, begin, owner, errs)
    if failed is not None:               # about the whole transaction
        return [failed] * n
    if any(e is not None and e[0] for e in errs):
        cancel = (E.ECANCELED, "not applied: the transaction was aborted")
        return [e if e is not None and e[0] else cancel for e in errs]
    if lost is not None:                 # committed or not: unknown
        return [lost] * n
    return [(0, "")] * n


def _receive(conn, begin, owner, errs):
    """Collect the ack of every sequence in ``owner`` into ``errs`` (an
    item's first error); returns ``(error of the transaction, error of
    the receive)``, each None when there was none."""
    pending = set(owner)
    sock, portid = conn.sock, conn.portid
    while pending:
        try:
            buf = sock.recv(RECV_SIZE)
        except OSError as exc:
            # timeout, ENOBUFS (acks lost)
            err = getattr(exc, "errno", None) or E.ETIMEDOUT
            return None, (err, f"recv: {os.strerror(err)}")
        for off, _, mtype, _, seq, pid in messages(buf):
            if pid != portid or mtype != NLMSG_ERROR:
                continue
            code = error_code(buf, off)
            if seq == begin and code:
                return (code, ext_ack(buf, off) or os.strerror(code)), None
            if seq not in pending:
                continue
            pending.discard(seq)
            k = owner[seq]
            if code and (errs[k] is None or not errs[k][0]):
                errs[k] = (code, ext_ack(buf, off))
            elif errs[k] is None:
                errs[k] = (0, "")
    return None, None
