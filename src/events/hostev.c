/* hostev.c: host activity records to OISP events (see hostev.h).
 *
 * Paths the kernel gave relative to a directory fd (unlink, rename) are
 * made absolute here, from /proc/PID/cwd or /proc/PID/fd/N.  That is a
 * read after the fact: if the process has already gone, the path stays
 * as given and attrs.path_resolved says false.
 *
 * Writes are reported per open file when it is closed (the kernel keeps
 * the tally); the record names the file by its struct file pointer, so the
 * path comes from the open we saw for that pointer (a bounded table).
 *
 * DNS: a query datagram (dns.c parses it) becomes a network.dns event that
 * waits in a bounded table until a reply of the same process with the same
 * transaction id, question name and type fills in its response fields.  A
 * query without a reply leaves the table when it is DNS_REPLY_TIMEOUT_NS
 * old (hostev_expire), when its process exits, when the table is full
 * (the oldest goes) or at shutdown; those events go to the hostev_set_emit
 * callback, since no record of their own returns them. */
#include "events/hostev.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/dns.h"
#include "events/event.h"
#include "events/secrets.h"
#include "util/jsonu.h"

#define FILENAME_MAX_ 512 /* as in host.bpf.c */
#define OPEN_FILES_MAX 4096
#define DNS_PENDING_MAX 512

typedef struct open_file {
    uint64_t file; /* struct file * in the kernel; 0 = empty slot */
    char *path;
} open_file;

/* A DNS query waiting for its reply. */
typedef struct dns_pending {
    json_t *ev;       /* the network.dns event so far; NULL = empty slot */
    const char *name; /* its data.query_name (owned by ev) */
    uint64_t ts;      /* when the query was sent */
    uint32_t tgid;
    uint16_t id, qtype;
    uint32_t sends;   /* the same query sent again (a retry) counts here */
} dns_pending;

struct hostev {
    proc_cache *pc;
    json_t *host;
    hostev_emit_fn emit;
    void *emit_ctx;
    hostev_stats st;
    dns_msg msg; /* scratch: one parsed datagram (too big for the stack) */
    dns_pending dns[DNS_PENDING_MAX];
    open_file files[OPEN_FILES_MAX];
};

hostev *hostev_new(proc_cache *pc, json_t *host)
{
    hostev *h = calloc(1, sizeof(*h));
    if (h) {
        h->pc = pc;
        h->host = host;
    }
    return h;
}

void hostev_free(hostev *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < OPEN_FILES_MAX; i++)
        free(h->files[i].path);
    for (size_t i = 0; i < DNS_PENDING_MAX; i++)
        json_decref(h->dns[i].ev);
    free(h);
}

void hostev_set_emit(hostev *h, hostev_emit_fn fn, void *ctx)
{
    h->emit = fn;
    h->emit_ctx = ctx;
}

void hostev_get_stats(const hostev *h, hostev_stats *out) { *out = h->st; }

static open_file *file_slot(hostev *h, uint64_t file)
{
    return &h->files[(file >> 6) * 2654435761u % OPEN_FILES_MAX]; /* direct-mapped: newest wins */
}

static void remember_file(hostev *h, uint64_t file, const char *path)
{
    open_file *f = file_slot(h, file);
    free(f->path);
    f->file = file;
    f->path = strdup(path);
}

static const char *file_path(hostev *h, uint64_t file)
{
    open_file *f = file_slot(h, file);
    return f->file == file ? f->path : NULL;
}

static json_t *str_of(const char *s, size_t len_with_nul)
{
    size_t n = len_with_nul ? strnlen(s, len_with_nul) : 0;
    return jsonu_string_lossy(s, n);
}

void hostev_normalize_path(char *path)
{
    if (path[0] != '/')
        return;
    char *out = path, *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        char *seg = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > path && *--out != '/')
                ;
            continue;
        }
        *out++ = '/';
        memmove(out, seg, n);
        out += n;
    }
    if (out == path)
        *out++ = '/';
    *out = 0;
}

/* An absolute version of path (relative to dfd in process pid), or NULL. */
static char *resolve(uint32_t pid, int dfd, const char *path)
{
    if (path[0] == '/') {
        char *r = strdup(path);
        if (r)
            hostev_normalize_path(r);
        return r;
    }
    char link[64], base[4096];
    if (dfd == HOST_AT_FDCWD)
        snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
    else
        snprintf(link, sizeof(link), "/proc/%u/fd/%d", pid, dfd);
    ssize_t n = readlink(link, base, sizeof(base) - 1);
    if (n <= 0 || base[0] != '/')
        return NULL;
    base[n] = 0;
    size_t need = (size_t)n + strlen(path) + 2;
    char *r = malloc(need);
    if (!r)
        return NULL;
    snprintf(r, need, "%s/%s", base, path);
    hostev_normalize_path(r);
    return r;
}

static json_t *path_value(uint32_t pid, int dfd, const char *path, int *resolved)
{
    char *abs = resolve(pid, dfd, path);
    if (!abs) {
        *resolved = 0;
        return jsonu_string_lossy(path, strlen(path));
    }
    json_t *v = jsonu_string_lossy(abs, strlen(abs));
    free(abs);
    return v;
}

static json_t *open_flags(unsigned f)
{
    json_t *a = json_array();
    int acc = f & O_ACCMODE;
    if (acc == O_RDONLY || acc == O_RDWR)
        json_array_append_new(a, json_string("read"));
    if (acc == O_WRONLY || acc == O_RDWR)
        json_array_append_new(a, json_string("write"));
    if (f & O_APPEND)
        json_array_append_new(a, json_string("append"));
    if (f & O_CREAT)
        json_array_append_new(a, json_string("create"));
    if (f & O_TRUNC)
        json_array_append_new(a, json_string("truncate"));
    if (f & O_EXCL)
        json_array_append_new(a, json_string("exclusive"));
    return a;
}

static json_t *endpoint(int family, const uint8_t *addr, uint16_t port)
{
    char ip[INET6_ADDRSTRLEN] = "";
    inet_ntop(family == 10 ? AF_INET6 : AF_INET, addr, ip, sizeof(ip));
    int priv = 0;
    if (family == 10)
        priv = (addr[0] & 0xfe) == 0xfc || (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80) ||
               (memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0);
    else
        priv = addr[0] == 10 || addr[0] == 127 || (addr[0] == 172 && (addr[1] & 0xf0) == 16) ||
               (addr[0] == 192 && addr[1] == 168) || (addr[0] == 169 && addr[1] == 254);
    return json_pack("{s:s,s:i,s:b}", "ip", ip, "port", port, "is_private", priv);
}

static const char *signal_name(int sig)
{
    static const char *const names[] = {
        [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",   [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
        [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
        [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM", [SIGXCPU] = "SIGXCPU",
    };
    return sig > 0 && sig < (int)(sizeof(names) / sizeof(names[0])) ? names[sig] : NULL;
}

static int is_shell(const char *name)
{
    static const char *const shells[] = {"sh", "bash", "dash", "zsh", "fish", "ksh", "ash", "busybox"};
    for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
        if (strcmp(name, shells[i]) == 0)
            return 1;
    return 0;
}

static json_t *exec_data(proc_cache *pc, const struct host_rec *r)
{
    json_t *d = json_object();
    json_t *proc = proc_cache_get(pc, r->tgid);
    const char *exe = json_string_value(json_object_get(proc, "exe"));
    char filename[FILENAME_MAX_ + 1];
    snprintf(filename, sizeof(filename), "%.*s", (int)strnlen(r->data, r->len1), r->data);
    json_object_set_new(d, "exe", exe ? json_string(exe) : str_of(r->data, r->len1));
    json_t *args = json_array();
    const char *a = r->data + FILENAME_MAX_, *end = a + r->len2;
    while (a < end) {
        size_t n = strnlen(a, (size_t)(end - a)), mlen;
        char *masked = secrets_mask(a, n, &mlen); /* curl -H "Authorization: Bearer ..." */
        json_array_append_new(args, masked ? jsonu_string_lossy(masked, mlen)
                                           : jsonu_string_lossy(a, n));
        free(masked);
        a += n + 1;
    }
    json_object_set_new(d, "args", args);
    char cwd[4096], link[64];
    snprintf(link, sizeof(link), "/proc/%u/cwd", r->tgid);
    ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
    if (n > 0)
        json_object_set_new(d, "cwd", jsonu_string_lossy(cwd, (size_t)n));
    const char *base = strrchr(exe ? exe : filename, '/');
    base = base ? base + 1 : (exe ? exe : filename);
    int script = exe && filename[0] && strcmp(exe, filename) != 0 && !strstr(filename, base);
    json_object_set_new(d, "is_shell", json_boolean(is_shell(base)));
    json_object_set_new(d, "is_script", json_boolean(script));
    if (script) {
        json_object_set_new(d, "interpreter", json_string(exe));
        json_object_set_new(d, "script_path", jsonu_string_lossy(filename, strlen(filename)));
    }
    return d;
}

static json_t *exit_data(const struct host_rec *r)
{
    json_t *d = json_object();
    json_object_set_new(d, "exit_code", json_integer(r->u.exit.code));
    if (r->u.exit.sig) {
        json_object_set_new(d, "signal", json_integer(r->u.exit.sig));
        const char *name = signal_name((int)r->u.exit.sig);
        if (name)
            json_object_set_new(d, "signal_name", json_string(name));
    }
    json_object_set_new(d, "termination_type", json_string(r->u.exit.sig ? "signaled" : "normal"));
    json_object_set_new(d, "runtime_ms", json_integer((json_int_t)(r->u.exit.runtime_ns / 1000000)));
    json_object_set_new(d, "cpu_user_ms", json_integer((json_int_t)(r->u.exit.utime_ns / 1000000)));
    json_object_set_new(d, "cpu_system_ms", json_integer((json_int_t)(r->u.exit.stime_ns / 1000000)));
    json_object_set_new(d, "max_rss_kb", json_integer((json_int_t)r->u.exit.maxrss_kb));
    return d;
}

static const char *point_of(int kind)
{
    switch (kind) {
    case HOST_EXEC: return "sched_process_exec";
    case HOST_EXIT: return "sched_process_exit";
    case HOST_FORK: return "sched_process_fork";
    case HOST_OPEN: return "sys_exit_openat";
    case HOST_WRITE: return "sys_enter_close";
    case HOST_UNLINK: return "sys_exit_unlinkat";
    case HOST_RENAME: return "sys_exit_renameat";
    case HOST_CONNECT: return "sys_exit_connect";
    default: return "sys_exit_accept";
    }
}

/* The syscalls host.bpf.c takes DNS datagrams from (x86-64 numbers). */
static const char *syscall_name(unsigned nr)
{
    switch (nr) {
    case 0: return "read";
    case 1: return "write";
    case 20: return "writev";
    case 44: return "sendto";
    case 45: return "recvfrom";
    case 46: return "sendmsg";
    case 47: return "recvmsg";
    case 299: return "recvmmsg";
    case 307: return "sendmmsg";
    }
    return "other";
}

static const char *type_of(int kind)
{
    static const char *const t[] = {"process.exec", "process.exit", "process.fork", "file.open",
                                    "file.write", "file.delete", "file.rename", "network.connect",
                                    "network.accept"};
    if (kind == HOST_DNS_QUERY || kind == HOST_DNS_REPLY)
        return "network.dns";
    return kind >= HOST_EXEC && kind <= HOST_ACCEPT ? t[kind - HOST_EXEC] : NULL;
}

static json_t *data_of(hostev *h, const struct host_rec *r, json_t *attrs)
{
    proc_cache *pc = h->pc;
    int resolved = 1;
    json_t *d = json_object();
    switch (r->kind) {
    case HOST_EXEC:
        json_decref(d);
        return exec_data(pc, r);
    case HOST_EXIT:
        json_decref(d);
        return exit_data(r);
    case HOST_FORK:
        json_object_set_new(d, "child_pid", json_integer(r->u.fork.child));
        json_object_set_new(d, "is_thread", json_false());
        break;
    case HOST_OPEN: {
        char p[FILENAME_MAX_ + 1];
        snprintf(p, sizeof(p), "%.*s", (int)strnlen(r->data, r->len1), r->data);
        json_t *path = path_value(r->tgid, r->dfd, p, &resolved);
        if (r->ret == 0 && r->u.file.file)
            remember_file(h, r->u.file.file, json_string_value(path));
        json_object_set_new(d, "path", path);
        json_object_set_new(d, "flags", open_flags(r->u.file.flags));
        break;
    }
    case HOST_WRITE: {
        const char *path = file_path(h, r->u.file.file);
        json_object_set_new(d, "path", json_string(path ? path : "(unknown: opened before tracking)"));
        if (!path)
            resolved = 0;
        json_object_set_new(d, "bytes_written", json_integer((json_int_t)r->u.file.bytes));
        json_object_set_new(attrs, "write_calls", json_integer((json_int_t)r->u.file.calls));
        break;
    }
    case HOST_UNLINK: {
        char p[FILENAME_MAX_ + 1];
        snprintf(p, sizeof(p), "%.*s", (int)strnlen(r->data, r->len1), r->data);
        json_object_set_new(d, "path", path_value(r->tgid, r->dfd, p, &resolved));
        break;
    }
    case HOST_RENAME: {
        char a[FILENAME_MAX_ + 1], b[FILENAME_MAX_ + 1];
        snprintf(a, sizeof(a), "%.*s", (int)strnlen(r->data, r->len1), r->data);
        snprintf(b, sizeof(b), "%.*s", (int)strnlen(r->data + FILENAME_MAX_, r->len2),
                 r->data + FILENAME_MAX_);
        json_object_set_new(d, "old_path", path_value(r->tgid, r->dfd, a, &resolved));
        json_object_set_new(d, "new_path", path_value(r->tgid, r->dfd2, b, &resolved));
        break;
    }
    case HOST_CONNECT: {
        int ok = r->ret == 0 || r->ret == -115; /* EINPROGRESS: non-blocking, under way */
        json_object_set_new(d, "dest", endpoint(r->family, r->u.net.daddr, r->u.net.dport));
        if (r->u.net.sport)
            json_object_set_new(d, "src", endpoint(r->family, r->u.net.saddr, r->u.net.sport));
        json_object_set_new(d, "protocol", json_string("tcp"));
        json_object_set_new(d, "success", json_boolean(ok));
        if (!ok)
            json_object_set_new(d, "error", json_string(strerror(-r->ret)));
        break;
    }
    case HOST_ACCEPT:
        json_object_set_new(d, "src", endpoint(r->family, r->u.net.daddr, r->u.net.dport));
        json_object_set_new(d, "dest", endpoint(r->family, r->u.net.saddr, r->u.net.sport));
        json_object_set_new(d, "protocol", json_string("tcp"));
        break;
    }
    if (r->kind == HOST_UNLINK || r->kind == HOST_RENAME || r->kind == HOST_OPEN ||
        r->kind == HOST_WRITE) {
        if (r->ret)
            json_object_set_new(attrs, "error", json_string(strerror(-r->ret)));
        if (!resolved)
            json_object_set_new(attrs, "path_resolved", json_false());
    }
    return d;
}

static int valid(const struct host_rec *r, size_t size)
{
    int strings = r->kind == HOST_EXEC || r->kind == HOST_OPEN || r->kind == HOST_UNLINK ||
                  r->kind == HOST_RENAME;
    if (!type_of(r->kind))
        return 0;
    if (r->kind == HOST_DNS_QUERY || r->kind == HOST_DNS_REPLY)
        return size >= sizeof(*r) + HOST_DNS_AREA && r->len1 <= HOST_DNS_MAX &&
               r->len1 <= r->u.net.len;
    if (!strings)
        return size >= sizeof(*r);
    return size >= sizeof(*r) + HOST_DATA_MAX && r->len1 <= HOST_DATA_MAX &&
           r->len2 <= HOST_DATA_MAX - FILENAME_MAX_;
}

/* An event of record r's process with its envelope, process and actor. */
static json_t *base_event(hostev *h, const struct host_rec *r, const char *point)
{
    json_t *ev = event_new(type_of(r->kind), r->ts, "ebpf_tracepoint", point, h->host, NULL);
    json_t *proc = json_copy(proc_cache_get(h->pc, r->tgid));
    if (r->tid != r->tgid)
        json_object_set_new(proc, "thread_id", json_integer(r->tid));
    json_object_set_new(ev, "process", proc);
    json_object_set_new(ev, "actor", json_pack("{s:i,s:i}", "uid", r->uid, "gid", r->gid));
    json_t *conf = json_object_get(ev, "confidence");
    json_object_set_new(conf, "process_attribution", json_string("direct"));
    return ev;
}

/* ---- DNS ---- */

static void dns_resolver(const struct host_rec *r, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(r->family == 10 ? AF_INET6 : AF_INET, r->u.net.daddr, ip, sizeof(ip));
    snprintf(out, outlen, r->family == 10 ? "[%s]:%u" : "%s:%u", ip, r->u.net.dport);
}

/* Takes pending query d out of the table and hands its event, without a
 * reply, to the emit callback; why says what ended the wait. */
static void dns_give_up(hostev *h, dns_pending *d, const char *why)
{
    json_t *ev = d->ev;
    d->ev = NULL;
    json_t *conf = json_object_get(ev, "confidence");
    json_object_set_new(conf, "completeness", json_string("partial"));
    json_object_set_new(conf, "missing", json_pack("[s]", "response"));
    json_object_set_new(json_object_get(ev, "attrs"), "no_reply", json_string(why));
    h->st.dns_unanswered++;
    if (h->emit)
        h->emit(h->emit_ctx, d->tgid, ev);
    else
        json_decref(ev);
}

static void dns_query(hostev *h, const struct host_rec *r)
{
    dns_msg *m = &h->msg;
    if (dns_parse((const uint8_t *)r->data, r->len1, m) != DNS_OK || m->response ||
        m->qdcount == 0) {
        h->st.dns_malformed++;
        return;
    }
    dns_pending *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < DNS_PENDING_MAX; i++) {
        dns_pending *d = &h->dns[i];
        if (!d->ev) {
            if (!slot)
                slot = d;
            continue;
        }
        if (d->tgid == r->tgid && d->id == m->id && d->qtype == m->qtype &&
            dns_name_equal(d->name, m->qname)) { /* sent again: a retry */
            d->sends++;
            return;
        }
        if (!oldest || d->ts < oldest->ts)
            oldest = d;
    }
    if (!slot) {
        slot = oldest;
        dns_give_up(h, slot, "table_full");
    }
    char resolver[INET6_ADDRSTRLEN + 16], tname[16];
    dns_resolver(r, resolver, sizeof(resolver));
    char point[32];
    snprintf(point, sizeof(point), "sys_exit_%s", syscall_name(r->sysnr));
    json_t *data = json_pack("{s:s,s:s,s:s}", "query_name", m->qname, "query_type",
                             dns_type_oisp(m->qtype), "resolver", resolver);
    if (!data) { /* out of memory (the parser's names are always ASCII) */
        h->st.dns_malformed++;
        return;
    }
    json_t *ev = base_event(h, r, point);
    json_t *attrs = json_pack("{s:s,s:i}", "protocol", "udp", "transaction_id", m->id);
    if (strcmp(dns_type_oisp(m->qtype), "other") == 0)
        json_object_set_new(attrs, "query_type_name",
                            json_string(dns_type_name(m->qtype, tname, sizeof(tname))));
    json_object_set_new(ev, "data", data);
    json_object_set_new(ev, "attrs", attrs);
    slot->ev = ev;
    slot->name = json_string_value(json_object_get(data, "query_name"));
    slot->ts = r->ts;
    slot->tgid = r->tgid;
    slot->id = m->id;
    slot->qtype = m->qtype;
    slot->sends = 1;
    h->st.dns_queries++;
}

/* The reply in r: the pending query's event, completed, or NULL. */
static json_t *dns_reply(hostev *h, const struct host_rec *r)
{
    dns_msg *m = &h->msg;
    if (dns_parse((const uint8_t *)r->data, r->len1, m) != DNS_OK || !m->response) {
        h->st.dns_malformed++;
        return NULL;
    }
    dns_pending *d = NULL;
    for (size_t i = 0; i < DNS_PENDING_MAX && !d; i++) {
        dns_pending *c = &h->dns[i];
        if (c->ev && c->tgid == r->tgid && c->id == m->id &&
            (m->qdcount == 0 || (c->qtype == m->qtype && dns_name_equal(c->name, m->qname))))
            d = c;
    }
    if (!d) {
        h->st.dns_unmatched++;
        return NULL;
    }
    json_t *ev = d->ev;
    d->ev = NULL;
    h->st.dns_answered++;
    json_t *data = json_object_get(ev, "data"), *attrs = json_object_get(ev, "attrs");
    char buf[24];
    json_object_set_new(data, "response_code", json_string(dns_rcode_oisp(m->rcode)));
    if (strcmp(dns_rcode_oisp(m->rcode), "other") == 0)
        json_object_set_new(attrs, "response_code_name",
                            json_string(dns_rcode_name(m->rcode, buf, sizeof(buf))));
    json_t *answers = json_array();
    for (size_t i = 0; i < m->nanswers; i++) {
        const dns_answer *a = &m->answers[i];
        json_t *o = json_pack("{s:s,s:I}", "type", dns_type_name(a->type, buf, sizeof(buf)), "ttl",
                              (json_int_t)a->ttl);
        if (a->has_value)
            json_object_set_new(o, "value", json_string(a->value));
        json_array_append_new(answers, o);
    }
    json_object_set_new(data, "answers", answers);
    double ms = r->ts > d->ts ? (double)(r->ts - d->ts) / 1e6 : 0;
    json_object_set_new(data, "latency_ms", json_real((double)(long long)(ms * 1000 + 0.5) / 1000));
    json_object_set_new(attrs, "reply_syscall", json_string(syscall_name(r->sysnr)));
    if (d->sends > 1)
        json_object_set_new(attrs, "sends", json_integer(d->sends));
    if (m->truncated)
        json_object_set_new(attrs, "truncated_by_server", json_true());
    int cut = r->u.net.len > r->len1;
    if (cut || m->partial || m->answers_skipped) {
        json_t *conf = json_object_get(ev, "confidence");
        json_object_set_new(conf, "completeness", json_string("partial"));
        if (cut)
            json_object_set_new(attrs, "reply_bytes_captured", json_integer(r->len1));
        if (m->answers_skipped)
            json_object_set_new(attrs, "answers_omitted", json_integer((json_int_t)m->answers_skipped));
    } else {
        json_object_set_new(json_object_get(ev, "confidence"), "completeness", json_string("full"));
    }
    return ev;
}

void hostev_expire(hostev *h, uint64_t now, uint64_t max_age_ns)
{
    for (size_t i = 0; i < DNS_PENDING_MAX; i++) {
        dns_pending *d = &h->dns[i];
        if (d->ev && (max_age_ns == 0 || now >= d->ts + max_age_ns))
            dns_give_up(h, d, max_age_ns ? "timeout" : "sensor_stopped");
    }
}

static void dns_process_exited(hostev *h, uint32_t tgid)
{
    for (size_t i = 0; i < DNS_PENDING_MAX; i++)
        if (h->dns[i].ev && h->dns[i].tgid == tgid)
            dns_give_up(h, &h->dns[i], "process_exited");
}

json_t *hostev_event(hostev *h, const struct host_rec *r, size_t size)
{
    proc_cache *pc = h->pc;
    if (!valid(r, size))
        return NULL;
    if (r->kind == HOST_DNS_QUERY) {
        dns_query(h, r);
        return NULL;
    }
    if (r->kind == HOST_DNS_REPLY)
        return dns_reply(h, r);
    if (r->kind == HOST_FORK)
        proc_cache_set_parent(pc, r->u.fork.child, r->tgid);
    if (r->kind == HOST_EXEC)
        proc_cache_exec(pc, r->tgid);
    if (r->kind == HOST_EXIT)
        dns_process_exited(h, r->tgid); /* its unanswered queries go first */
    json_t *ev = base_event(h, r, point_of(r->kind));
    json_t *attrs = json_object();
    json_t *data = data_of(h, r, attrs);
    json_t *conf = json_object_get(ev, "confidence");
    if (r->kind == HOST_CONNECT || r->kind == HOST_ACCEPT)
        json_object_set_new(conf, "completeness", json_string("metadata_only"));
    json_object_set_new(ev, "data", data);
    if (json_object_size(attrs))
        json_object_set_new(ev, "attrs", attrs);
    else
        json_decref(attrs);
    if (r->kind == HOST_EXIT)
        proc_cache_exited(pc, r->tgid, r->ts);
    return ev;
}
