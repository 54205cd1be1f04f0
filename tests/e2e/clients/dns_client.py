"""dns_client.py: DNS lookups through dns_server.py (127.0.0.1:53) by every path host.bpf.c follows,
for the e2e suite's s_dns scenario.
usage: dns_client.py sockets MANIFEST OUT_FILE  queries over sendto/recvfrom (unconnected),
                                                send/recv and write/read (connected), sendmsg/recvmsg,
                                                sendmmsg/recvmmsg (ctypes: A+AAAA at once, the query in
                                                two iovecs), a CNAME, an NXDOMAIN and a query that gets
                                                no reply; then writes OUT_FILE with os.writev
       dns_client.py glibc MANIFEST             getaddrinfo(): glibc's resolver (run it where
                                                /etc/resolv.conf names 127.0.0.1)
       dns_client.py untracked MANIFEST         one query, from a process the sensor must not record
MANIFEST (JSON): pid, queries [{name, type, send, recv, outcome: answer|nxdomain|none}], writev."""
import ctypes, json, os, random, select, socket, struct, sys

SERVER = ("127.0.0.1", 53)
TYPES = {"A": 1, "AAAA": 28}


def query(name, qtype, qid=None):
    qid = random.randrange(1, 65536) if qid is None else qid
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", TYPES[qtype], 1)


def rcode_of(reply, q):
    assert reply[:2] == q[:2], "reply id %r, query id %r" % (reply[:2], q[:2])
    return reply[3] & 0xF


def wait_readable(fd, seconds=5):
    r, _, _ = select.select([fd], [], [], seconds)
    assert r, "no reply within %ds" % seconds


class Queries:
    def __init__(self):
        self.list = []

    def add(self, name, qtype, send, recv, outcome="answer"):
        self.list.append({"name": name, "type": qtype, "send": send, "recv": recv, "outcome": outcome})


def via_sendto(qs, name, outcome="answer", qtype="A"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    q = query(name, qtype)
    s.sendto(q, SERVER)
    qs.add(name, qtype, "sendto", "recvfrom", outcome)
    if outcome == "none":
        return s  # kept open: the process exits waiting
    wait_readable(s.fileno())
    data, peer = s.recvfrom(512)
    assert peer == SERVER and rcode_of(data, q) == (3 if outcome == "nxdomain" else 0)
    s.close()


def via_connected(qs, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(SERVER)
    q = query(name, "A")
    s.send(q)                      # sendto(fd, buf, len, 0, NULL, 0)
    wait_readable(s.fileno())
    assert rcode_of(s.recv(512), q) == 0  # recvfrom(fd, buf, len, 0, NULL, NULL)
    s.close()
    qs.add(name, "A", "sendto", "recvfrom")


def via_read_write(qs, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(SERVER)
    q = query(name, "A")
    os.write(s.fileno(), q)
    wait_readable(s.fileno())
    assert rcode_of(os.read(s.fileno(), 512), q) == 0
    s.close()
    qs.add(name, "A", "write", "read")


def via_msg(qs, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # unconnected: the address is in msg_name
    q = query(name, "A")
    s.sendmsg([q[:12], q[12:]], [], 0, SERVER)  # two iovecs
    wait_readable(s.fileno())
    data, _, _, peer = s.recvmsg(512)
    assert peer == SERVER and rcode_of(data, q) == 0
    s.close()
    qs.add(name, "A", "sendmsg", "recvmsg")


class iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", msghdr), ("msg_len", ctypes.c_uint)]


def via_mmsg(qs, name):
    """A and AAAA in one sendmmsg on a connected socket (as glibc does), each query split over two
    iovecs; the replies with recvmmsg."""
    libc = ctypes.CDLL(None, use_errno=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(SERVER)
    qa, q6 = query(name, "A"), query(name, "AAAA")
    keep = []
    vec = (mmsghdr * 2)()
    for i, q in enumerate((qa, q6)):
        parts = (ctypes.create_string_buffer(q[:5], 5), ctypes.create_string_buffer(q[5:], len(q) - 5))
        iov = (iovec * 2)(iovec(ctypes.addressof(parts[0]), 5), iovec(ctypes.addressof(parts[1]), len(q) - 5))
        keep += [parts, iov]
        vec[i].msg_hdr.msg_iov = iov
        vec[i].msg_hdr.msg_iovlen = 2
    n = libc.sendmmsg(s.fileno(), vec, 2, 0)
    assert n == 2, "sendmmsg: %d (errno %d)" % (n, ctypes.get_errno())
    bufs = [ctypes.create_string_buffer(512) for _ in range(2)]
    rvec = (mmsghdr * 2)()
    for i in range(2):
        iov = iovec(ctypes.addressof(bufs[i]), 512)
        keep.append(iov)
        rvec[i].msg_hdr.msg_iov = ctypes.pointer(iov)
        rvec[i].msg_hdr.msg_iovlen = 1
    got = 0
    while got < 2:
        wait_readable(s.fileno())
        n = libc.recvmmsg(s.fileno(), ctypes.byref(rvec, got * ctypes.sizeof(mmsghdr)), 2 - got,
                          0x10000, None)  # MSG_WAITFORONE
        assert n > 0, "recvmmsg: %d (errno %d)" % (n, ctypes.get_errno())
        got += n
    ids = sorted(bufs[i].raw[:2] for i in range(2))
    assert ids == sorted([qa[:2], q6[:2]]), "recvmmsg: replies %r" % ids
    s.close()
    qs.add(name, "A", "sendmmsg", "recvmmsg")
    qs.add(name, "AAAA", "sendmmsg", "recvmmsg")


def sockets(manifest, out_file):
    qs = Queries()
    via_sendto(qs, "raw.oisp.test")
    via_connected(qs, "connected.oisp.test")
    via_read_write(qs, "rw.oisp.test")
    via_msg(qs, "msg.oisp.test")
    via_mmsg(qs, "mmsg.oisp.test")
    via_sendto(qs, "alias.oisp.test")
    via_sendto(qs, "nx.oisp.test", "nxdomain")
    parts = [b"w" * 1000, b"\n", os.urandom(3000), ("pid %d\n" % os.getpid()).encode()]
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    written = os.writev(fd, parts) + os.writev(fd, [b"tail\n"])
    os.close(fd)
    pending = via_sendto(qs, "silent.oisp.test", "none")  # no reply: reported when the process exits
    with open(manifest, "w") as f:
        json.dump({"pid": os.getpid(), "queries": qs.list,
                   "writev": {"path": out_file, "bytes": written}}, f)
    pending.close()


def glibc(manifest):
    infos = socket.getaddrinfo("glibc.oisp.test", 80, type=socket.SOCK_STREAM)
    addrs = sorted({i[4][0] for i in infos})
    qs = Queries()
    qs.add("glibc.oisp.test", "A", "sendmmsg", "recvfrom")
    qs.add("glibc.oisp.test", "AAAA", "sendmmsg", "recvfrom")
    with open(manifest, "w") as f:
        json.dump({"pid": os.getpid(), "queries": qs.list, "addresses": addrs}, f)
    print("getaddrinfo:", addrs)


def untracked(manifest):
    qs = Queries()
    via_sendto(qs, "untracked.oisp.test")
    with open(manifest, "w") as f:
        json.dump({"pid": os.getpid(), "queries": qs.list}, f)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sockets":
        sockets(sys.argv[2], sys.argv[3])
    elif mode == "glibc":
        glibc(sys.argv[2])
    else:
        untracked(sys.argv[2])
