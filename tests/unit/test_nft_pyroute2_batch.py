"""Kernel-free checks of the pyroute2 backend's nftables transaction
(transport.batch through nft.transaction), against a scripted socket
that answers as nf_tables does, of its extended-ack reader, and of the
values nft_ops.pack puts in elements.
"""

from __future__ import annotations

import errno as E
import socket
import struct

import pytest

pytest.importorskip("pyroute2")

from libnetwork.backends import nft_ops as N  # noqa: E402
from libnetwork.backends.pyroute2 import nft, transport  # noqa: E402
from libnetwork.backends.validate import prepare  # noqa: E402

HDR = struct.Struct("=IHHII")
PORT = 4242
NLMSG_ERROR = 2
CAPPED, ACK_TLVS = 0x100, 0x200
CANCELED = (E.ECANCELED, "not applied: the transaction was aborted")


def ack(seq, err=0, text=None, echo=None, pid=PORT):
    """An NLMSG_ERROR as the kernel builds it: the request's header only
    (capped) unless ``echo`` gives the whole request, then the message
    attribute."""
    flags = 0 if echo else CAPPED
    body = struct.pack("=i", -err) + (echo or HDR.pack(20, 0, 0, seq, PORT))
    if text is not None:
        flags |= ACK_TLVS
        t = text.encode() + b"\0"
        body += struct.pack("=HH", 4 + len(t), 1) + t + \
            bytes(-len(t) % 4)
    return HDR.pack(16 + len(body), NLMSG_ERROR, flags, seq, pid) + body


class Kernel:
    """A netlink socket answering one batch: ``refuse`` maps a message's
    place in the batch (0: the first after BATCH_BEGIN) to ``(errno,
    text)``; ``begin`` is an error about the whole batch; acks come in
    ``chunks`` receive buffers, then ``after`` is raised."""

    def __init__(self, refuse=None, begin=None, chunks=1, keep=None,
                 after=None, send_error=None):
        self.refuse = refuse or {}
        self.begin = begin
        self.chunks = chunks
        self.keep = keep            # only the first ``keep`` acks arrive
        self.after = after or socket.timeout("timed out")
        self.send_error = send_error
        self.sent = []
        self.queue = []
        self.opts = {socket.SO_SNDBUF: 1 << 16, socket.SO_RCVBUF: 1 << 16}

    def getsockname(self):
        return (PORT, 0)

    def getsockopt(self, level, opt):
        return self.opts[opt]

    def setsockopt(self, level, opt, val):
        opt = {transport.SO_SNDBUFFORCE: socket.SO_SNDBUF,
               transport.SO_RCVBUFFORCE: socket.SO_RCVBUF}.get(opt, opt)
        self.opts[opt] = 2 * val

    def send(self, data):
        if self.send_error:
            raise self.send_error
        self.sent.append(bytes(data))
        msgs = list(transport.messages(data))
        acks = [ack(0x7000000, 9, "stale"), ack(msgs[1][4], 0, pid=PORT + 1)]
        if self.begin:
            acks.append(ack(msgs[0][4], *self.begin))
        for k, (_, _, _, flags, seq, _) in enumerate(msgs[1:-1]):
            assert flags & 0x4                         # NLM_F_ACK
            err, text = self.refuse.get(k, (0, None))
            acks.append(ack(seq, err, text))
        if self.keep is not None:
            acks = acks[:2 + self.keep]
        size = -(-len(acks) // self.chunks)
        self.queue = [b"".join(acks[i:i + size])
                      for i in range(0, len(acks), size)]

    def recv(self, n):
        if not self.queue:
            raise self.after
        return self.queue.pop(0)


def run(kernel, items):
    stats = {"sendmsg": 0}
    conn = transport.Conn(kernel, None, stats)
    out = nft.transaction(conn, items)
    assert stats["sendmsg"] == 1           # one sendmsg, failed or not
    return out


def msgs(*ops):
    return [nft.messages(op, prepare(op)) for op in ops]


OPS = (N.NftTableAdd("t"), N.NftSetAdd("t", "s", ("ipv4_addr",)),
       N.NftElemAdd("t", "s", (N.NftElem(b"\n\0\0\1"),)))


# ----------------------------------------------------------- transaction

@pytest.mark.parametrize("chunks", [1, 3])
def test_committed(chunks):
    k = Kernel(chunks=chunks)
    assert run(k, msgs(*OPS)) == [(0, "")] * 3
    (data,) = k.sent
    sent = list(transport.messages(data))
    assert [m[2] for m in sent] == [0x10, 10 << 8 | 0, 10 << 8 | 9,
                                    10 << 8 | 12, 0x11]
    seqs = [m[4] for m in sent]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert [m[1] for m in sent[1:-1]] == [len(m[0]) for m in msgs(*OPS)]


def test_buffers_hold_the_batch_and_its_acks():
    els = tuple(N.NftElem(i.to_bytes(4, "big")) for i in range(20000))
    k = Kernel()
    items = msgs(N.NftElemAdd("t", "s", els), *OPS)
    assert len(items[0]) > 1
    assert run(k, items) == [(0, "")] * 4
    assert k.opts[socket.SO_SNDBUF] >= len(k.sent[0]) + 32
    assert k.opts[socket.SO_RCVBUF] >= (len(items[0]) + 3) * 1024


def test_one_refused_aborts_all():
    k = Kernel(refuse={1: (E.EINVAL, "Attribute failed policy validation")})
    assert run(k, msgs(*OPS)) == [
        CANCELED, (E.EINVAL, "Attribute failed policy validation"),
        CANCELED]


def test_each_refusal_is_reported():
    k = Kernel(refuse={0: (E.ENOENT, None), 2: (E.EEXIST, "x")}, chunks=2)
    assert run(k, msgs(*OPS)) == [(E.ENOENT, ""), CANCELED, (E.EEXIST, "x")]


def test_an_item_of_several_messages_gets_their_first_error():
    els = tuple(N.NftElem(i.to_bytes(4, "big")) for i in range(20000))
    items = msgs(N.NftTableAdd("t"), N.NftElemAdd("t", "s", els))
    n = len(items[1])
    k = Kernel(refuse={n: (E.E2BIG, "late"), n - 1: (E.ENOSPC, "")})
    assert run(k, items) == [CANCELED, (E.ENOSPC, "")]


def test_an_error_about_the_batch_fails_every_item():
    k = Kernel(begin=(E.ENOMEM, None))
    assert run(k, msgs(*OPS)) == [(E.ENOMEM, "Cannot allocate memory")] * 3
    k = Kernel(begin=(E.EBUSY, "commit"))
    assert run(k, msgs(*OPS)) == [(E.EBUSY, "commit")] * 3


def test_lost_acks_leave_the_outcome_unknown():
    k = Kernel(keep=2)
    assert run(k, msgs(*OPS)) == [(E.ETIMEDOUT, "recv: " + "Connection "
                                   "timed out")] * 3
    k = Kernel(keep=1, after=OSError(E.ENOBUFS, "lost"))
    assert run(k, msgs(*OPS)) == [(E.ENOBUFS, "recv: No buffer space "
                                   "available")] * 3
    # a refusal that did arrive proves the abort
    k = Kernel(keep=2, refuse={0: (E.EINVAL, "no")})
    assert run(k, msgs(*OPS))[:2] == [(E.EINVAL, "no"), CANCELED]


def test_send_error():
    k = Kernel(send_error=OSError(E.EMSGSIZE, "too big"))
    assert run(k, msgs(*OPS)) == [(E.EMSGSIZE, "send: Message too long")] * 3


# ------------------------------------------------------------- ext acks

def test_ext_ack_text_follows_the_echo():
    req = HDR.pack(40, 10 << 8, 5, 7, PORT) + bytes(24)
    whole = ack(7, E.EINVAL, "bad attribute", echo=req)
    capped = ack(7, E.EINVAL, "bad attribute")
    for data in (whole, capped, b"junk" + whole):
        off = 4 if data.startswith(b"junk") else 0
        assert transport.error_code(data, off) == E.EINVAL
        assert transport.ext_ack(data, off) == "bad attribute"
    assert transport.ext_ack(ack(7, E.EINVAL), 0) == ""
    assert transport.ext_ack(ack(7, E.EINVAL, echo=req), 0) == ""


# ---------------------------------------------------------------- values

@pytest.mark.parametrize("types, values, packed", [
    (("ipv4_addr",), ("10.0.0.1",), b"\n\0\0\1"),
    (("ipv6_addr",), ("fd00::1",), b"\xfd" + bytes(14) + b"\1"),
    (("ifname",), ("br-a",), b"br-a" + bytes(12)),
    (("ifname",), ("x" * 15,), b"x" * 15 + b"\0"),
    (("inet_proto",), ("tcp",), b"\x06\0\0\0"),
    (("inet_proto",), (17,), b"\x11\0\0\0"),
    (("inet_service",), (8080,), b"\x1f\x90\0\0"),
    (("mark",), (1,), b"\1\0\0\0"),
    (("ipv4_addr", "inet_proto", "inet_service"), ("10.9.0.1", "tcp", 80),
     b"\n\x09\0\1" + b"\x06\0\0\0" + b"\0\x50\0\0"),
    (("ifname", "ifname"), ("a", "b"), b"a" + bytes(15) + b"b" + bytes(15)),
])
def test_pack(types, values, packed):
    assert N.pack(types, values) == packed
    assert len(packed) == N.type_shape(types)[1]


@pytest.mark.parametrize("types, values", [
    (("ifname",), ("x" * 16,)), (("ipv4_addr",), ("10.0.0.1", "x")),
    (("nosuch",), (1,)), (("ipv4_addr",), ("fd00::1",))])
def test_pack_refuses(types, values):
    with pytest.raises(ValueError):
        N.pack(types, values)


def test_type_shape():
    assert N.type_shape(("ipv4_addr", "ifname")) == (7 << 6 | 41, 20,
                                                     (4, 16))
    assert N.type_shape(("inet_proto", "inet_service")) == (12 << 6 | 13, 8,
                                                            (1, 2))


def test_range_elems():
    data = b"\xc0\0\2\1"
    assert N.range_elems("10.0.1.0/24", data) == [
        N.NftElem(b"\n\0\1\0", data=data),
        N.NftElem(b"\n\0\2\0", interval_end=True)]
    assert N.range_elems("10.0.1.7/24")[0].key == b"\n\0\1\0"
    assert N.range_elems("0.0.0.0/0") == [N.NftElem(bytes(4))]
    assert N.range_elems("255.255.255.0/24") == [N.NftElem(b"\xff\xff\xff\0")]
    assert N.range_elems("fd00::/64") == [
        N.NftElem(b"\xfd" + bytes(15)),
        N.NftElem(b"\xfd\0\0\0\0\0\0\1" + bytes(8), interval_end=True)]
