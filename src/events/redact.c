/* redact.c: redaction of OISP events (see redact.h for what and where).
 *
 * redact_event() visits the few places of an event that carry free text
 * (it does not walk the whole event).  Each string goes through
 * text_mask(): the built-in detectors in one pass (secrets_next), then each
 * user pattern with regexec() over the stretches between masks.  A string
 * without findings costs the scan and nothing else: no allocation, no copy.
 * In full mode a content field is replaced by a marker (or removed) built
 * from its original bytes (hash, length) and its masked text (preview,
 * findings), counted in a sub-context so that each marker lists its own
 * findings.  Totals and the list of removed fields go into attrs.redaction
 * at the end, merged with what an earlier pass left there. */
#include "events/redact.h"

#include "util/sha256.h"
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events/secrets.h"
#include "util/jsonu.h"
#include "util/texthash.h"

typedef struct upattern {
    char *name;
    regex_t re;
} upattern;

/* The strings this redactor last found clean, by 128-bit hash: an agent
 * resends its whole conversation on every turn, and every event repeats
 * the process's command line and its ancestors'.  Only a clean verdict is
 * kept, so a hit changes nothing but the time: the same bytes under the
 * same rules have the same findings, none.  The hash is seeded per process:
 * text that collides with a remembered clean string would skip the scan. */
#define MEMO_SLOTS 1024 /* direct-mapped, a power of two */
#define MEMO_MIN_LEN 64 /* shorter strings scan faster than they look up */

typedef struct clean_memo {
    pthread_mutex_t mu;
    texthash h[MEMO_SLOTS]; /* {0, 0}: empty */
} clean_memo;

struct redactor {
    clean_memo memo;
    redact_mode mode;
    unsigned kinds;  /* built-in detectors (SECRET_BIT) */
    size_t preview;  /* full: preview characters, 0 for none */
    upattern *pats;
    size_t npats;
    json_t *profile; /* the mode name, shared by every event */
};

/* What one redact_event() (or one marker) found and did. */
typedef struct rctx {
    const redactor *r;
    secrets_tally t; /* built-in findings, masks already there */
    uint32_t *user;  /* per user pattern; allocated at the first finding */
    int changed;     /* something was masked, replaced or removed */
    int replaced;    /* a content field was replaced or removed (full) */
    int oom;
    json_t *removed; /* JSON pointers of removed fields */
} rctx;

static const char *const mode_names[] = {"safe", "full", "minimal"};

int redact_mode_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, mode_names[i]) == 0)
            return i;
    return -1;
}

const char *redact_mode_name(redact_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "unknown";
}

redact_mode redact_get_mode(const redactor *r) { return r->mode; }

/* ---- construction ---- */

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > SECRETS_MASK_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(c >= '0' && c <= '9') && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && c != '_' &&
            c != '-' && c != '.')
            return 0;
    }
    return 1;
}

static int builtin_name(const char *name)
{
    for (int k = 0; k < SECRET_KIND_COUNT; k++)
        if (strcmp(name, secrets_kind_name((secret_kind)k)) == 0)
            return 1;
    return strcmp(name, "too_deep") == 0;
}

/* Compiles pattern i into r->pats[i]; 0, or -1 with err. */
static int pattern_compile(redactor *r, const redact_pattern *p, char *err, size_t errlen)
{
    if (!name_ok(p->name)) {
        snprintf(err, errlen,
                 "redaction pattern name '%s': use 1-%d letters, digits, '_', '-' or '.'",
                 p->name ? p->name : "", SECRETS_MASK_NAME_MAX);
        return -1;
    }
    if (builtin_name(p->name)) {
        snprintf(err, errlen, "redaction pattern name '%s' is a built-in detector", p->name);
        return -1;
    }
    for (size_t j = 0; j < r->npats; j++)
        if (strcmp(r->pats[j].name, p->name) == 0) {
            snprintf(err, errlen, "redaction pattern name '%s' is used twice", p->name);
            return -1;
        }
    if (!p->regex || !*p->regex) {
        snprintf(err, errlen, "redaction pattern '%s': empty regex", p->name);
        return -1;
    }
    upattern *u = &r->pats[r->npats];
    int rc = regcomp(&u->re, p->regex, REG_EXTENDED);
    if (rc) {
        char msg[160];
        regerror(rc, &u->re, msg, sizeof(msg));
        snprintf(err, errlen,
                 "redaction pattern '%s': not a POSIX extended regular expression: %s",
                 p->name, msg);
        return -1;
    }
    if (regexec(&u->re, "", 0, NULL, 0) == 0) {
        regfree(&u->re);
        snprintf(err, errlen, "redaction pattern '%s' matches the empty string", p->name);
        return -1;
    }
    u->name = strdup(p->name);
    if (!u->name) {
        regfree(&u->re);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->npats++;
    return 0;
}

redactor *redact_new(const redact_opts *o, char *err, size_t errlen)
{
    if ((unsigned)o->mode > REDACT_MINIMAL) {
        snprintf(err, errlen, "redaction mode %d: expected safe, full or minimal", (int)o->mode);
        return NULL;
    }
    if (o->npatterns > REDACT_PATTERNS_MAX) {
        snprintf(err, errlen, "at most %d redaction patterns", REDACT_PATTERNS_MAX);
        return NULL;
    }
    redactor *r = calloc(1, sizeof(*r));
    if (!r || (o->npatterns && !(r->pats = calloc(o->npatterns, sizeof(*r->pats))))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->memo.mu, NULL);
    r->mode = o->mode;
    r->kinds = o->mode == REDACT_MINIMAL ? SECRETS_CREDENTIALS : SECRETS_ALL;
    r->preview = o->preview_chars < 0    ? 0
                 : o->preview_chars == 0 ? REDACT_PREVIEW_MAX
                 : o->preview_chars > REDACT_PREVIEW_MAX ? REDACT_PREVIEW_MAX
                                                         : (size_t)o->preview_chars;
    r->profile = json_string(redact_mode_name(o->mode));
    if (!r->profile) {
        snprintf(err, errlen, "out of memory");
        redact_free(r);
        return NULL;
    }
    for (size_t i = 0; i < o->npatterns; i++)
        if (pattern_compile(r, &o->patterns[i], err, errlen)) {
            redact_free(r);
            return NULL;
        }
    return r;
}

void redact_free(redactor *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->npats; i++) {
        regfree(&r->pats[i].re);
        free(r->pats[i].name);
    }
    free(r->pats);
    json_decref(r->profile);
    pthread_mutex_destroy(&r->memo.mu);
    free(r);
}

/* ---- small helpers ---- */

typedef struct out_buf {
    char *p;
    size_t len, cap;
    int oom;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t nc = (o->len + n + 1) * 2;
        char *np = realloc(o->p, nc);
        if (!np) {
            o->oom = 1;
            return;
        }
        o->p = np;
        o->cap = nc;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void put_mask(out_buf *o, const char *name)
{
    put(o, "[REDACTED:", 10);
    put(o, name, strlen(name));
    put(o, "]", 1);
}

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

static size_t utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !is_cont((unsigned char)s[i]);
    return k;
}

/* Bytes of the first `chars` characters of s[0..n). */
static size_t utf8_prefix(const char *s, size_t n, size_t chars)
{
    size_t i = 0, k = 0;
    while (i < n) {
        if (!is_cont((unsigned char)s[i]) && k++ == chars)
            break;
        i++;
    }
    return i;
}

static void sha256_tag(const char *s, size_t n, char out[72])
{
    static const char hx[] = "0123456789abcdef";
    unsigned char md[SHA256_LEN];
    sha256(s, n, md);
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < sizeof(md); i++) {
        out[7 + 2 * i] = hx[md[i] >> 4];
        out[8 + 2 * i] = hx[md[i] & 15];
    }
    out[71] = 0;
}

static json_t *text_new(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    return v ? v : jsonu_string_lossy(s, n);
}

static void set_new(rctx *c, json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v))
        c->oom = 1;
}

static int is_marker(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 &&
           json_is_object(json_object_get(v, "$redacted"));
}

static void count_user(rctx *c, size_t i)
{
    if (!c->user && !(c->user = calloc(c->r->npats, sizeof(*c->user)))) {
        c->oom = 1;
        return;
    }
    c->user[i]++;
}

static void ctx_merge(rctx *into, const rctx *from)
{
    for (int k = 0; k < SECRET_KIND_COUNT; k++)
        into->t.found[k] += from->t.found[k];
    into->t.masks_seen += from->t.masks_seen;
    for (size_t i = 0; from->user && i < into->r->npats; i++)
        if (from->user[i]) {
            if (!into->user && !(into->user = calloc(into->r->npats, sizeof(*into->user)))) {
                into->oom = 1;
                return;
            }
            into->user[i] += from->user[i];
        }
    into->oom |= from->oom;
}

/* [{type, count}] of what c found, or NULL if nothing. */
static json_t *findings_json(rctx *c)
{
    json_t *a = NULL;
    for (size_t k = 0; k < SECRET_KIND_COUNT + c->r->npats; k++) {
        uint32_t n = k < SECRET_KIND_COUNT ? c->t.found[k] : c->user ? c->user[k - SECRET_KIND_COUNT] : 0;
        if (!n)
            continue;
        const char *type = k < SECRET_KIND_COUNT ? secrets_kind_name((secret_kind)k)
                                                 : c->r->pats[k - SECRET_KIND_COUNT].name;
        if (!a && !(a = json_array()))
            break;
        if (json_array_append_new(a, json_pack("{s:s,s:i}", "type", type, "count", (int)n)))
            c->oom = 1;
    }
    return a;
}

static const char *first_finding(const rctx *c)
{
    for (int k = 0; k < SECRET_KIND_COUNT; k++)
        if (c->t.found[k])
            return secrets_kind_name((secret_kind)k);
    for (size_t i = 0; c->user && i < c->r->npats; i++)
        if (c->user[i])
            return c->r->pats[i].name;
    return NULL;
}

/* ---- text ---- */

/* The next mask at or after pos: its start (n if none) and length. */
static size_t next_mask(const char *t, size_t n, size_t pos, size_t *len)
{
    while (pos < n) {
        const char *p = memchr(t + pos, '[', n - pos);
        if (!p)
            break;
        size_t i = (size_t)(p - t);
        if ((*len = secrets_mask_at(t, n, i)) != 0)
            return i;
        pos = i + 1;
    }
    *len = 0;
    return n;
}

/* User pattern pi over t[0..n), between the masks already there.
 * Adjacent matches share one mask.  A pattern that matches so often that
 * the masks would make the text more than 4 times longer masks all of it
 * (one mask): memory stays bounded whatever the pattern. */
static int user_mask(rctx *c, size_t pi, const char *t, size_t n, char **out, size_t *outlen)
{
    const upattern *u = &c->r->pats[pi];
    out_buf o = {0};
    size_t copied = 0, pos = 0, max = 4 * n + 1024;
    int found = 0;
    while (pos <= n) {
        size_t mlen, seg_end = next_mask(t, n, pos, &mlen), p = pos;
        while (p < seg_end) {
            regmatch_t rm = {.rm_so = (regoff_t)p, .rm_eo = (regoff_t)seg_end};
            if (regexec(&u->re, t, 1, &rm, REG_STARTEND | (p ? REG_NOTBOL : 0)) != 0)
                break;
            size_t ms = (size_t)rm.rm_so, me = (size_t)rm.rm_eo;
            if (me <= ms) { /* an empty match: step over one byte */
                p = ms + 1;
                continue;
            }
            while (ms > p && is_cont((unsigned char)t[ms])) /* whole characters */
                ms--;
            while (me < seg_end && is_cont((unsigned char)t[me]))
                me++;
            if (!found || ms != copied) { /* else it continues the last mask */
                put(&o, t + copied, ms - copied);
                put_mask(&o, u->name);
                count_user(c, pi);
            }
            copied = p = me;
            found = 1;
            if (o.len > max) {
                o.len = 0;
                put_mask(&o, u->name);
                copied = n;
                goto done;
            }
        }
        if (seg_end >= n)
            break;
        c->t.masks_seen++;
        pos = seg_end + mlen;
    }
    if (!found)
        return 0;
done:
    put(&o, t + copied, n - copied);
    if (o.oom) {
        free(o.p);
        return -1;
    }
    *out = o.p;
    *outlen = o.len;
    return 1;
}

static int memo_has(clean_memo *m, texthash h)
{
    pthread_mutex_lock(&m->mu);
    texthash k = m->h[h.lo & (MEMO_SLOTS - 1)];
    pthread_mutex_unlock(&m->mu);
    return k.lo == h.lo && k.hi == h.hi && (h.lo | h.hi);
}

static void memo_add(clean_memo *m, texthash h)
{
    pthread_mutex_lock(&m->mu);
    m->h[h.lo & (MEMO_SLOTS - 1)] = h;
    pthread_mutex_unlock(&m->mu);
}

/* s[0..n) with every finding masked: 0 if there is none, 1 with a new
 * *out, -1 when out of memory.  The built-in detectors, then each user
 * pattern; again while a round changes something (a user mask can make a
 * built-in finding, as in secrets_mask_kinds), so the result is final. */
static int text_mask(rctx *c, const char *s, size_t n, char **out, size_t *outlen)
{
    clean_memo *memo = n >= MEMO_MIN_LEN ? (clean_memo *)&c->r->memo : NULL;
    texthash h = {0, 0};
    if (memo) {
        h = texthash_keyed(s, n);
        if (memo_has(memo, h))
            return 0;
    }
    char *cur = NULL, *next;
    size_t curlen = n, nextlen;
    for (int round = 0; round < SECRETS_MAX_PASSES; round++) {
        int user_changed = 0;
        int rc = secrets_mask_kinds(cur ? cur : s, curlen, c->r->kinds, &c->t, &next, &nextlen);
        for (size_t i = 0; rc >= 0; i++) {
            if (rc > 0) {
                free(cur);
                cur = next;
                curlen = nextlen;
                user_changed |= i > 0;
            }
            if (i == c->r->npats)
                break;
            rc = user_mask(c, i, cur ? cur : s, curlen, &next, &nextlen);
        }
        if (rc < 0) {
            free(cur);
            return -1;
        }
        if (!user_changed) /* the built-ins' output, which no pattern touched */
            break;
    }
    if (!cur) {
        if (memo)
            memo_add(memo, h);
        return 0;
    }
    *out = cur;
    *outlen = curlen;
    return 1;
}

/* The masked copy of a JSON string, or NULL if it has no findings. */
static json_t *masked_str(rctx *c, const json_t *str)
{
    char *out;
    size_t len;
    int rc = text_mask(c, json_string_value(str), json_string_length(str), &out, &len);
    if (rc <= 0) {
        if (rc < 0)
            c->oom = 1;
        return NULL;
    }
    json_t *v = text_new(out, len);
    free(out);
    if (!v)
        c->oom = 1;
    else
        c->changed = 1;
    return v;
}

/* The value of a credential field or header: its findings masked, or else
 * all of it after the scheme word ("Bearer [REDACTED:credential]").  A
 * value that already holds a mask was done before and is left alone. */
static json_t *credential_str(rctx *c, const json_t *str)
{
    json_t *m = masked_str(c, str);
    if (m || c->oom)
        return m;
    const char *s = json_string_value(str);
    size_t n = json_string_length(str);
    if (n == 0)
        return NULL;
    if (memmem(s, n, "[REDACTED:", 10)) {
        c->t.masks_seen++;
        return NULL;
    }
    static const char *const schemes[] = {"bearer ", "basic ", "token ", "digest "};
    size_t keep = 0;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t l = strlen(schemes[i]);
        if (n > l && strncasecmp(s, schemes[i], l) == 0) {
            keep = l;
            break;
        }
    }
    out_buf o = {0};
    put(&o, s, keep);
    put_mask(&o, secrets_kind_name(SECRET_CREDENTIAL));
    json_t *v = o.oom ? NULL : text_new(o.p, o.len);
    free(o.p);
    if (!v) {
        c->oom = 1;
        return NULL;
    }
    c->t.found[SECRET_CREDENTIAL]++;
    c->changed = 1;
    return v;
}

static void mask_member(rctx *c, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return;
    json_t *m = masked_str(c, v);
    if (m)
        set_new(c, obj, key, m);
}

static void mask_array(rctx *c, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        json_t *m = json_is_string(v) ? masked_str(c, v) : NULL;
        if (m && json_array_set_new(arr, i, m))
            c->oom = 1;
    }
}

/* ---- JSON values ---- */

static void walk(rctx *c, json_t *v, int credential, int depth);

/* The new value for a member or element (NULL: keep it). */
static json_t *walk_item(rctx *c, json_t *v, int credential, int depth)
{
    if (json_is_string(v))
        return credential ? credential_str(c, v) : masked_str(c, v);
    if (!json_is_object(v) && !json_is_array(v))
        return NULL;
    if (depth >= REDACT_DEPTH_MAX) {
        c->changed = 1;
        return json_string("[REDACTED:too_deep]");
    }
    walk(c, v, credential, depth + 1);
    return NULL;
}

/* Masks every string in an object or array, recursively.  The elements of
 * an array under a credential key ("api_keys": [...]) are credentials. */
static void walk(rctx *c, json_t *v, int credential, int depth)
{
    if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            const char *key = json_object_iter_key(it);
            json_t *nv = walk_item(c, json_object_iter_value(it),
                                   secrets_name_is_credential(key, strlen(key)), depth);
            if (nv && json_object_iter_set_new(v, it, nv))
                c->oom = 1;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *nv = walk_item(c, json_array_get(v, i), credential, depth);
            if (nv && json_array_set_new(v, i, nv))
                c->oom = 1;
        }
    }
}

static int header_is_credential(const char *name)
{
    return secrets_name_is_credential(name, strlen(name)) || strcasecmp(name, "cookie") == 0 ||
           strcasecmp(name, "set-cookie") == 0;
}

/* {name: value or [values]} */
static void redact_headers(rctx *c, json_t *h)
{
    if (!json_is_object(h))
        return;
    for (void *it = json_object_iter(h); it; it = json_object_iter_next(h, it)) {
        int cred = header_is_credential(json_object_iter_key(it));
        json_t *v = json_object_iter_value(it);
        if (json_is_string(v)) {
            json_t *nv = cred ? credential_str(c, v) : masked_str(c, v);
            if (nv && json_object_iter_set_new(h, it, nv))
                c->oom = 1;
        } else if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *e = json_array_get(v, i);
                json_t *nv = !json_is_string(e) ? NULL : cred ? credential_str(c, e) : masked_str(c, e);
                if (nv && json_array_set_new(v, i, nv))
                    c->oom = 1;
            }
        }
    }
}

/* ---- content fields ---- */

enum { FULL_MARKER, FULL_REMOVE };

typedef struct content_field {
    int full;             /* FULL_MARKER or FULL_REMOVE */
    const char *hash_key; /* FULL_REMOVE: sibling that gets the hash */
    const char *size_key; /* FULL_REMOVE: sibling that gets the size, or NULL */
} content_field;

static const content_field AS_MARKER = {FULL_MARKER, NULL, NULL};
static const content_field TOOL_ARGS = {FULL_REMOVE, "arguments_hash", NULL};
static const content_field TOOL_RESULT = {FULL_REMOVE, "result_hash", "result_size_bytes"};

/* The original bytes of v (a string, or compact JSON with sorted keys) in
 * *orig (*owned if allocated), and the text with findings masked in
 * *masked (*mowned if allocated); findings counted in sub. */
static int content_texts(rctx *sub, json_t *v, const char **orig, size_t *olen, char **owned,
                         const char **masked, size_t *mlen, char **mowned)
{
    *owned = *mowned = NULL;
    if (json_is_string(v)) {
        *orig = json_string_value(v);
        *olen = json_string_length(v);
        int rc = text_mask(sub, *orig, *olen, mowned, mlen);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            *masked = *orig;
            *mlen = *olen;
        } else {
            *masked = *mowned;
        }
        return 0;
    }
    *owned = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *copy = json_deep_copy(v);
    if (copy) {
        walk(sub, copy, 0, 1);
        *mowned = json_dumps(copy, JSON_COMPACT);
        json_decref(copy);
    }
    if (!*owned || !*mowned)
        return -1;
    *orig = *owned;
    *olen = strlen(*owned);
    *masked = *mowned;
    *mlen = strlen(*mowned);
    return 0;
}

static json_t *marker_new(rctx *sub, const char *orig, size_t olen, const char *masked,
                          size_t mlen)
{
    char hash[72];
    sha256_tag(orig, olen, hash);
    json_t *r = json_pack("{s:s,s:s,s:I,s:s}", "reason", "policy", "redaction_profile", "full",
                          "original_length", (json_int_t)utf8_chars(orig, olen), "hash", hash);
    if (!r)
        return NULL;
    const char *det = first_finding(sub);
    if (det)
        set_new(sub, r, "detector", json_string(det));
    if (sub->r->preview)
        set_new(sub, r, "preview", text_new(masked, utf8_prefix(masked, mlen, sub->r->preview)));
    json_t *f = findings_json(sub);
    if (f)
        set_new(sub, r, "findings", f);
    return json_pack("{s:o}", "$redacted", r);
}

static void add_removed(rctx *c, const char *path)
{
    if (!c->removed && !(c->removed = json_array()))
        c->oom = 1;
    else if (json_array_append_new(c->removed, json_string(path)))
        c->oom = 1;
}

/* Full mode: replace obj[key] by a marker, or remove it and set its hash. */
static void content_full(rctx *c, json_t *obj, const char *key, json_t *v, const content_field *f,
                         const char *path)
{
    rctx sub = {.r = c->r};
    const char *orig, *masked;
    size_t olen, mlen;
    char *owned, *mowned;
    if (content_texts(&sub, v, &orig, &olen, &owned, &masked, &mlen, &mowned) == 0) {
        if (f->full == FULL_MARKER) {
            set_new(c, obj, key, marker_new(&sub, orig, olen, masked, mlen));
        } else {
            char hash[72];
            sha256_tag(orig, olen, hash);
            if (!json_object_get(obj, f->hash_key))
                set_new(c, obj, f->hash_key, json_string(hash));
            if (f->size_key && !json_object_get(obj, f->size_key))
                set_new(c, obj, f->size_key, json_integer((json_int_t)olen));
            json_object_del(obj, key);
            add_removed(c, path);
        }
        c->changed = c->replaced = 1;
    } else {
        c->oom = 1;
    }
    free(owned);
    free(mowned);
    ctx_merge(c, &sub);
    free(sub.user);
}

/* A content field: masked (safe, minimal) or replaced (full). */
static void content_member(rctx *c, json_t *obj, const char *key, const content_field *f,
                           const char *path)
{
    json_t *v = json_object_get(obj, key);
    if (!v || is_marker(v))
        return;
    if (json_is_string(v)) {
        if (c->r->mode == REDACT_FULL && json_string_length(v) > 0)
            content_full(c, obj, key, v, f, path);
        else
            mask_member(c, obj, key);
    } else if (json_is_object(v) || json_is_array(v)) {
        if (c->r->mode == REDACT_FULL)
            content_full(c, obj, key, v, f, path);
        else
            walk(c, v, 0, 1);
    }
}

/* ---- the places in an event ---- */

static void redact_tool_calls(rctx *c, json_t *calls, const char *base)
{
    size_t i;
    json_t *tc;
    char path[160];
    path[0] = 0;
    json_array_foreach(calls, i, tc) {
        if (!json_is_object(tc))
            continue;
        if (c->r->mode == REDACT_FULL)
            snprintf(path, sizeof(path), "%s/tool_calls/%zu/arguments", base, i);
        content_member(c, tc, "arguments", &TOOL_ARGS, path);
    }
}

static void redact_message(rctx *c, json_t *m, const char *base)
{
    if (!json_is_object(m))
        return;
    content_member(c, m, "content", &AS_MARKER, NULL);
    content_member(c, m, "thinking", &AS_MARKER, NULL);
    content_member(c, m, "refusal", &AS_MARKER, NULL);
    json_t *calls = json_object_get(m, "tool_calls");
    if (calls)
        redact_tool_calls(c, calls, base);
}

static void redact_data(rctx *c, json_t *data)
{
    size_t i;
    json_t *v;
    char base[64];
    int full = c->r->mode == REDACT_FULL; /* paths name removed fields */
    base[0] = 0;
    json_array_foreach(json_object_get(data, "messages"), i, v) {
        if (full)
            snprintf(base, sizeof(base), "/data/messages/%zu", i);
        redact_message(c, v, base);
    }
    json_array_foreach(json_object_get(data, "choices"), i, v) {
        if (full)
            snprintf(base, sizeof(base), "/data/choices/%zu/message", i);
        redact_message(c, json_object_get(v, "message"), base);
    }
    if ((v = json_object_get(data, "tool_calls")))
        redact_tool_calls(c, v, "/data");
    content_member(c, data, "arguments", &AS_MARKER, NULL); /* agent.tool_call: an object */
    content_member(c, data, "result", &TOOL_RESULT, "/data/result");
    if (json_is_object(v = json_object_get(data, "error")))
        mask_member(c, v, "message");
    if (json_is_array(v = json_object_get(data, "args")))
        mask_array(c, v);
    if (json_is_object(v = json_object_get(data, "provider")))
        mask_member(c, v, "endpoint");
    redact_headers(c, json_object_get(data, "headers"));
    redact_headers(c, json_object_get(data, "request_headers"));
    redact_headers(c, json_object_get(data, "response_headers"));
}

static void redact_process(rctx *c, json_t *proc)
{
    mask_member(c, proc, "cmdline");
    json_t *v = json_object_get(proc, "cmdline_args");
    if (json_is_array(v))
        mask_array(c, v);
    if (json_is_object(v = json_object_get(proc, "env")))
        walk(c, v, 0, 1);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(proc, "ancestors"), i, a) {
        if (json_is_object(a))
            mask_member(c, a, "cmdline");
    }
}

/* Adds this pass's findings and removed fields to attrs.redaction. */
static void merge_summary(rctx *c, json_t *ev)
{
    json_t *found = findings_json(c);
    if (!found && !c->removed)
        return;
    json_t *attrs = json_object_get(ev, "attrs");
    if (!attrs) {
        attrs = json_object();
        set_new(c, ev, "attrs", attrs);
    }
    json_t *red = json_object_get(attrs, "redaction");
    if (json_is_object(attrs) && !json_is_object(red)) {
        red = json_object();
        set_new(c, attrs, "redaction", red);
    }
    if (!json_is_object(red) || c->oom) {
        json_decref(found);
        return;
    }
    json_t *have = json_object_get(red, "findings");
    if (!json_is_array(have)) {
        have = json_array();
        set_new(c, red, "findings", have);
    }
    size_t i, j;
    json_t *f, *h;
    json_array_foreach(found, i, f) {
        const char *type = json_string_value(json_object_get(f, "type"));
        json_int_t n = json_integer_value(json_object_get(f, "count"));
        int merged = 0;
        json_array_foreach(have, j, h) {
            json_t *cnt = json_object_get(h, "count");
            if (json_is_integer(cnt) && type &&
                strcmp(json_string_value(json_object_get(h, "type")) ?: "", type) == 0) {
                json_integer_set(cnt, json_integer_value(cnt) + n);
                merged = 1;
                break;
            }
        }
        if (!merged && have && json_array_append(have, f))
            c->oom = 1;
    }
    json_decref(found);
    if (c->removed) {
        json_t *rem = json_object_get(red, "removed");
        if (!json_is_array(rem)) {
            rem = json_array();
            set_new(c, red, "removed", rem);
        }
        json_array_foreach(c->removed, i, f) {
            int dup = 0;
            json_array_foreach(rem, j, h)
                dup |= json_equal(h, f);
            if (!dup && rem && json_array_append(rem, f))
                c->oom = 1;
        }
    }
}

static void mark_confidence(rctx *c, json_t *ev)
{
    json_t *conf = json_object_get(ev, "confidence");
    if (!json_is_object(conf))
        return;
    int before = json_is_true(json_object_get(conf, "redaction_applied"));
    int applied = before || c->changed || c->t.masks_seen; /* masked at the source, too */
    set_new(c, conf, "redaction_applied", json_boolean(applied));
    if (json_object_set(conf, "redaction_profile", c->r->profile))
        c->oom = 1;
    const char *comp = json_string_value(json_object_get(conf, "completeness"));
    if (c->replaced && comp && strcmp(comp, "full") == 0)
        set_new(c, conf, "completeness", json_string("redacted"));
}

int redact_event(const redactor *r, json_t *ev)
{
    if (!r || !json_is_object(ev))
        return 0;
    rctx c = {.r = r};
    json_t *v;
    if (json_is_object(v = json_object_get(ev, "process")))
        redact_process(&c, v);
    if (json_is_object(v = json_object_get(ev, "data")))
        redact_data(&c, v);
    if (json_is_object(v = json_object_get(ev, "attrs")))
        redact_headers(&c, json_object_get(v, "headers"));
    merge_summary(&c, ev);
    mark_confidence(&c, ev);
    free(c.user);
    json_decref(c.removed);
    if (c.oom)
        return -1;
    return c.changed;
}
