/* secrets.c: secret and personal-data detectors (see secrets.h).
 *
 * secrets_next() walks the text once.  cls[] maps each byte to the one
 * detector family it can trigger ('-' '_' 'A' 'J': prefixed keys and
 * JWTs, found from a byte inside them; 'b' 'B': Bearer/Basic; ':' '=': a
 * credential label just before; '-': also a --option; '@': an e-mail
 * address; digits: a card number; '[': a mask to skip), masked by the
 * families the caller asked for.  With SSE2, 16 bytes at a time are
 * compared against the trigger bytes and only the candidates are looked
 * up; prose has few of them.  The detectors behind the table look at a few
 * bytes around the trigger and give up early.  A digit run that is not a
 * card is skipped whole, so long numbers are read once. */
#include "events/secrets.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Trigger classes.  Keys are found from a byte inside them that is rarer
 * in prose than their first letter: the '-' of "sk-" and "xoxb-", the '_'
 * of "ghp_" and "github_pat_", the 'J' of "eyJ"; only "AIza"/"AKIA"/"ASIA"
 * start at their first byte. */
enum {
    C_KEY = 1,     /* 'A' (AIza, AKIA, ASIA) and 'J' (eyJ: a JWT) */
    C_SCHEME = 2,  /* "Bearer " / "Basic " */
    C_LABEL = 4,   /* ':' or '=' after a credential name */
    C_AT = 8,      /* '@' of an e-mail address */
    C_DASH = 16,   /* "sk-", "xoxb-", "--password value" */
    C_MASK = 32,   /* "[REDACTED:...]" already there */
    C_DIGIT = 64,  /* first digit of a card number */
    C_UNDER = 128, /* "ghp_", "github_pat_" */
};

static const unsigned char cls[256] = {
    ['A'] = C_KEY,    ['J'] = C_KEY,    ['b'] = C_SCHEME, ['B'] = C_SCHEME, [':'] = C_LABEL,
    ['='] = C_LABEL,  ['@'] = C_AT,     ['-'] = C_DASH,   ['['] = C_MASK,   ['_'] = C_UNDER,
    ['0'] = C_DIGIT,  ['1'] = C_DIGIT,  ['2'] = C_DIGIT,  ['3'] = C_DIGIT,  ['4'] = C_DIGIT,
    ['5'] = C_DIGIT,  ['6'] = C_DIGIT,  ['7'] = C_DIGIT,  ['8'] = C_DIGIT,  ['9'] = C_DIGIT,
};

static const char *const kind_names[SECRET_KIND_COUNT] = {
    "openai_key", "anthropic_key", "google_key", "aws_key", "github_token",
    "slack_token", "jwt",          "credential", "email",   "card",
};

const char *secrets_kind_name(secret_kind k)
{
    return (unsigned)k < SECRET_KIND_COUNT ? kind_names[k] : "unknown";
}

/* ---- character classes (ASCII only: bytes >= 0x80 are none of these) ---- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_alnum(unsigned char c) { return is_digit(c) || is_alpha(c); }
static int is_keych(unsigned char c) { return is_alnum(c) || c == '-' || c == '_'; }
static int is_blank(unsigned char c) { return c == ' ' || c == '\t'; }
static int is_mask_name(unsigned char c) { return is_keych(c) || c == '.'; }
static int is_local(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
static int is_domain(unsigned char c) { return is_alnum(c) || c == '-'; }

/* s[0..l) equals w (lower-case letters, '-', '_'), ignoring case. */
static int ieq(const char *s, const char *w, size_t l)
{
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)s[i], x = (unsigned char)w[i];
        if (c != x && !(is_alpha(x) && (c | 0x20) == x))
            return 0;
    }
    return 1;
}

/* Characters of a credential value: anything printable up to a space, a
 * quote or a delimiter of the surrounding syntax (JSON, URLs, shells). */
static int is_value(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f)
        return 0;
    return !strchr("\"'`,;&<>()[]{}\\|", c);
}

#define U(s, i) ((unsigned char)(s)[i])

size_t secrets_mask_at(const char *s, size_t n, size_t i)
{
    if (n - i < 12 || memcmp(s + i, "[REDACTED:", 10) != 0)
        return 0;
    size_t j = i + 10;
    while (j < n && j - (i + 10) < SECRETS_MASK_NAME_MAX && is_mask_name(U(s, j)))
        j++;
    if (j == i + 10 || j >= n || s[j] != ']')
        return 0;
    return j + 1 - i;
}

/* Does a mask end exactly at s[i] (s[i-1] is its ']')? */
static int mask_ends_at(const char *s, size_t i)
{
    size_t lim = i > SECRETS_MASK_NAME_MAX + 11 ? i - (SECRETS_MASK_NAME_MAX + 11) : 0;
    for (size_t p = i - 1; p-- > lim;)
        if (s[p] == '[')
            return secrets_mask_at(s, i, p) == i - p;
    return 0;
}

/* The byte before s[i] continues a word: a key character or a mask. */
static int in_word(const char *s, size_t i)
{
    if (i == 0)
        return 0;
    unsigned char c = U(s, i - 1);
    return is_keych(c) || (c == ']' && mask_ends_at(s, i));
}

static size_t keyspan(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && is_keych(U(s, j)))
        j++;
    return j - i;
}

/* ---- prefixed keys and JWTs ---- */

/* prefix (already checked, plen bytes) then at least min key characters */
static int key_body(const char *s, size_t n, size_t i, size_t plen, size_t min, secret_kind k,
                    secret_match *m)
{
    size_t b = keyspan(s, n, i + plen);
    if (b < min)
        return 0;
    *m = (secret_match){i, i + plen + b, k};
    return 1;
}

static int jwt_at(const char *s, size_t n, size_t i, secret_match *m)
{
    if (n - i < 3 || memcmp(s + i, "eyJ", 3) != 0)
        return 0;
    size_t j = i;
    for (int part = 0; part < 3; part++) {
        size_t k = keyspan(s, n, j);
        if (k < 8)
            return 0;
        j += k;
        if (part < 2) {
            if (j >= n || s[j] != '.')
                return 0;
            j++;
        }
    }
    *m = (secret_match){i, j, SECRET_JWT};
    return 1;
}

/* A key at s[i] (the caller checked the word start). */
static int prefixed_at(const char *s, size_t n, size_t i, secret_match *m)
{
    const char *p = s + i;
    size_t r = n - i;
    switch (p[0]) {
    case 's':
        if (r < 3 || p[1] != 'k' || p[2] != '-')
            return 0;
        if (r >= 7 && memcmp(p, "sk-ant-", 7) == 0 &&
            key_body(s, n, i, 7, 16, SECRET_ANTHROPIC_KEY, m))
            return 1;
        if (r >= 8 && memcmp(p, "sk-proj-", 8) == 0 &&
            key_body(s, n, i, 8, 16, SECRET_OPENAI_KEY, m))
            return 1;
        return key_body(s, n, i, 3, 20, SECRET_OPENAI_KEY, m);
    case 'A':
        if (r < 4)
            return 0;
        if (memcmp(p, "AIza", 4) == 0)
            return key_body(s, n, i, 4, 30, SECRET_GOOGLE_KEY, m);
        if (memcmp(p, "AKIA", 4) == 0 || memcmp(p, "ASIA", 4) == 0) {
            size_t j = i + 4;
            while (j < n && j - i < 21 && (is_upper(U(s, j)) || is_digit(U(s, j))))
                j++;
            if (j - i != 20 || (j < n && is_keych(U(s, j))))
                return 0;
            *m = (secret_match){i, j, SECRET_AWS_KEY};
            return 1;
        }
        return 0;
    case 'g':
        if (r >= 4 && p[1] == 'h' && strchr("pousr", p[2]) && p[2] && p[3] == '_')
            return key_body(s, n, i, 4, 30, SECRET_GITHUB_TOKEN, m);
        if (r >= 11 && memcmp(p, "github_pat_", 11) == 0)
            return key_body(s, n, i, 11, 30, SECRET_GITHUB_TOKEN, m);
        return 0;
    case 'x':
        if (r >= 5 && p[1] == 'o' && p[2] == 'x' && p[3] && strchr("abeprs", p[3]) &&
            p[4] == '-')
            return key_body(s, n, i, 5, 10, SECRET_SLACK_TOKEN, m);
        return 0;
    case 'e':
        return jwt_at(s, n, i, m);
    }
    return 0;
}

/* ---- credential labels ---- */

static const struct {
    const char *s;
    size_t len;
} cred_names[] = {
    {"authorization", 13}, {"api-key", 7},    {"api_key", 7},    {"apikey", 6},
    {"token", 5},          {"password", 8},   {"passwd", 6},     {"secret", 6},
    {"access_key", 10},    {"secret_key", 10}, {"access-key", 10}, {"secret-key", 10},
};

/* Does s[b..e) end in a credential name that starts at a word boundary?
 * The last letter picks the few names worth comparing. */
static int ends_in_cred_name(const char *s, size_t b, size_t e)
{
    if (e == b)
        return 0;
    unsigned char last = U(s, e - 1) | 0x20;
    if (last != 'n' && last != 'y' && last != 'd' && last != 't')
        return 0;
    for (size_t k = 0; k < sizeof(cred_names) / sizeof(cred_names[0]); k++) {
        size_t l = cred_names[k].len;
        if (e - b < l || (unsigned char)cred_names[k].s[l - 1] != last ||
            !ieq(s + e - l, cred_names[k].s, l))
            continue;
        if (e - l == b || !is_alnum(U(s, e - l - 1)))
            return 1;
    }
    return 0;
}

int secrets_name_is_credential(const char *name, size_t n)
{
    return name && ends_in_cred_name(name, 0, n);
}

/* 8+ characters that look random rather than like a word of prose: a
 * digit, one of + / = _ ~, an upper-case letter after the first, or 24+
 * characters.  strict (code style "name = value"): a digit, + / = or 24+
 * characters, since identifiers such as DEFAULT_TOKEN or getToken are
 * common there. */
static int looks_secret(const char *v, size_t n, int strict)
{
    if (n < 8)
        return 0;
    if (n >= 24)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = U(v, i);
        if (is_digit(c) || c == '+' || c == '/' || c == '=')
            return 1;
        if (!strict && (c == '_' || c == '~' || (i > 0 && is_upper(c))))
            return 1;
    }
    return 0;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
    size_t lim = i + 16;
    while (i < n && i < lim && is_blank(U(s, i)))
        i++;
    return i;
}

/* "Bearer "/"Basic "/"Token " at s[i]: the index after the word, else 0. */
static size_t scheme_word(const char *s, size_t n, size_t i)
{
    static const struct {
        const char *s;
        size_t len;
    } w[] = {{"bearer", 6}, {"basic", 5}, {"token", 5}};
    if (i >= n)
        return 0;
    unsigned char c = U(s, i) | 0x20;
    if (c != 'b' && c != 't')
        return 0;
    for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
        if (w[k].s[0] == c && n - i > w[k].len && ieq(s + i, w[k].s, w[k].len) &&
            is_blank(U(s, i + w[k].len)))
            return i + w[k].len;
    return 0;
}

/* The secret value that follows a label, starting at s[v] (after blanks
 * and an opening quote; a scheme word is kept when allowed). */
static int label_value(const char *s, size_t n, size_t v, int allow_scheme, int strict,
                       unsigned kinds, secret_match *m)
{
    v = skip_blanks(s, n, v);
    if (v + 1 < n && s[v] == '\\' && (s[v + 1] == '"' || s[v + 1] == '\''))
        v += 2;
    else if (v < n && (s[v] == '"' || s[v] == '\''))
        v++;
    if (allow_scheme) {
        size_t w = scheme_word(s, n, v);
        if (w)
            v = skip_blanks(s, n, w);
    }
    if (v >= n || secrets_mask_at(s, n, v))
        return 0;
    if (prefixed_at(s, n, v, m) && (kinds & SECRET_BIT(m->kind)))
        return 1;
    size_t e = v;
    while (e < n && is_value(U(s, e)))
        e++;
    if (e < n && s[e] == '(') /* a call: password = getpass() */
        return 0;
    while (e > v && s[e - 1] == '.') /* end of a sentence */
        e--;
    if (!looks_secret(s + v, e - v, strict))
        return 0;
    *m = (secret_match){v, e, SECRET_CREDENTIAL};
    return 1;
}

/* ':' or '=' at s[i]: NAME: value, "NAME": "value", NAME=value,
 * NAME = value. */
static int label_at(const char *s, size_t n, size_t from, size_t i, unsigned kinds,
                    secret_match *m)
{
    if (s[i] == '=' && i + 1 < n && s[i + 1] == '=')
        return 0;
    size_t e = i;
    while (e > from && i - e < 4 && is_blank(U(s, e - 1)))
        e--;
    int spaced = e < i;
    if (e > from && (s[e - 1] == '"' || s[e - 1] == '\'')) {
        e--;
        if (e > from && s[e - 1] == '\\')
            e--;
    }
    if (e == from || !ends_in_cred_name(s, from, e))
        return 0;
    return label_value(s, n, i + 1, 1, spaced, kinds, m);
}

/* "--NAME value" at s[i] (the "--NAME=value" form is a label). */
static int option_at(const char *s, size_t n, size_t i, unsigned kinds, secret_match *m)
{
    if (i + 2 >= n || s[i + 1] != '-' || in_word(s, i))
        return 0;
    size_t e = i + 2;
    while (e < n && e - i < 64 && is_keych(U(s, e)))
        e++;
    if (e == i + 2 || e >= n || !is_blank(U(s, e)) || !ends_in_cred_name(s, i + 2, e))
        return 0;
    return label_value(s, n, e, 0, 0, kinds, m);
}

/* "Bearer X" / "Basic X" at s[i]. */
static int scheme_at(const char *s, size_t n, size_t i, unsigned kinds, secret_match *m)
{
    /* after a blank, a quote or nothing: not "token_type=bearer x" */
    if (i > 0 && !is_blank(U(s, i - 1)) && !strchr("\"'`(\n\r", s[i - 1]))
        return 0;
    size_t w = scheme_word(s, n, i);
    if (!w || (s[i] | 0x20) != 'b') /* "token X" only after a label */
        return 0;
    return label_value(s, n, w, 0, 0, kinds, m);
}

/* ---- e-mail addresses ---- */

static int email_at(const char *s, size_t n, size_t from, size_t i, secret_match *m)
{
    size_t b = i;
    while (b > from && i - b < 64 && is_local(U(s, b - 1)))
        b--;
    if (b == i || (b > from && is_local(U(s, b - 1))) || s[b] == '.' || s[i - 1] == '.')
        return 0;
    if (i - b == 3 && ieq(s + b, "git", 3)) /* git@github.com:org/repo */
        return 0;
    size_t lstart[16], lend[16], labels = 0, j = i + 1;
    while (labels < 16) {
        size_t k = j, ml = labels ? secrets_mask_at(s, n, j) : 0;
        if (ml) { /* a label masked earlier: it stays one, never a top-level */
            k = j + ml;
        } else {
            while (k < n && k - j < 63 && is_domain(U(s, k)))
                k++;
            if (k == j || s[j] == '-' || s[k - 1] == '-')
                break;
        }
        lstart[labels] = j;
        lend[labels++] = k;
        if (k + 1 < n && s[k] == '.' && (is_alnum(U(s, k + 1)) || s[k + 1] == '[')) {
            j = k + 1;
            continue;
        }
        break;
    }
    /* the longest domain that ends in a top-level label of 2-24 letters
     * ("a@b.io.x1" is "a@b.io" and ".x1") */
    for (size_t k = labels; k >= 2; k--) {
        size_t ts = lstart[k - 1], end = lend[k - 1], t = ts;
        while (t < end && is_alpha(U(s, t)))
            t++;
        if (t != end || end - ts < 2 || end - ts > 24)
            continue;
        if (k == labels && end < n && (is_domain(U(s, end)) || s[end] == '@'))
            continue;
        /* "icon@2x.png" */
        if (k == 2 && lend[0] - lstart[0] >= 2 && s[lend[0] - 1] == 'x') {
            size_t d = lstart[0];
            while (d < lend[0] - 1 && is_digit(U(s, d)))
                d++;
            if (d == lend[0] - 1)
                return 0;
        }
        *m = (secret_match){b, end, SECRET_EMAIL};
        return 1;
    }
    return 0;
}

/* ---- card numbers ---- */

static int card_network_ok(const unsigned char *d, size_t nd)
{
    int p2 = d[0] * 10 + d[1], p3 = p2 * 10 + d[2], p4 = p3 * 10 + d[3];
    switch (d[0]) {
    case 4: /* Visa */
        return nd == 13 || nd == 16 || nd == 19;
    case 2: /* Mastercard 2-series */
        return p4 >= 2221 && p4 <= 2720 && nd == 16;
    case 5:
        if (p2 >= 51 && p2 <= 55) /* Mastercard */
            return nd == 16;
        return p2 == 50 || (p2 >= 56 && p2 <= 58); /* Maestro */
    case 3:
        if (p2 == 34 || p2 == 37) /* American Express */
            return nd == 15;
        if (p4 >= 3528 && p4 <= 3589) /* JCB */
            return nd >= 16;
        if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
            return nd >= 14; /* Diners Club */
        return 0;
    case 6:
        if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) /* Discover */
            return nd >= 16;
        if (p2 == 62) /* UnionPay */
            return nd >= 16;
        return p2 == 63 || p2 == 67; /* Maestro */
    }
    return 0;
}

static int luhn_ok(const unsigned char *d, size_t nd)
{
    unsigned sum = 0;
    for (size_t k = 0; k < nd; k++) {
        unsigned v = d[nd - 1 - k];
        if (k & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static int groups_ok(const size_t *g, size_t ng)
{
    if (ng == 1)
        return 1;
    if (ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4))
        return 1; /* Amex, Diners */
    if (ng < 4 || ng > 5)
        return 0;
    for (size_t k = 0; k + 1 < ng; k++)
        if (g[k] != 4)
            return 0;
    return g[ng - 1] >= 1 && g[ng - 1] <= 4;
}

/* A card number starting at the digit s[i]: the whole digit run, or, when
 * its groups are separated by spaces, its longest run of leading groups
 * that is one (a card may be followed by another number).  *skip is where
 * the scan goes on when there is none: past the run, or past its first
 * group when separated by spaces (a card may follow another number). */
static int card_at(const char *s, size_t n, size_t i, secret_match *m, size_t *skip)
{
    unsigned char d[19];
    size_t gend[8], gnd[8], glen[8]; /* per group: end, digits up to its end, length */
    size_t nd = 0, ng = 0, j = i;
    char sep = 0;
    int more = 0; /* the run goes on past the groups read */
    *skip = i + 1;
    if (i > 0) {
        unsigned char p = U(s, i - 1);
        if (in_word(s, i) || p == '.' || p == '+')
            return 0;
    }
    for (;;) {
        size_t start = j;
        while (j < n && is_digit(U(s, j))) {
            if (nd < sizeof(d))
                d[nd] = (unsigned char)(U(s, j) - '0');
            nd++;
            j++;
        }
        gend[ng] = j;
        gnd[ng] = nd;
        glen[ng] = j - start;
        ng++;
        int next = j + 1 < n && (s[j] == ' ' || s[j] == '-') && (!sep || sep == s[j]) &&
                   is_digit(U(s, j + 1));
        if (next && (nd >= sizeof(d) || ng == 8)) {
            more = 1;
            break;
        }
        if (!next)
            break;
        sep = s[j];
        j++;
    }
    if (sep == ' ') {
        *skip = gend[0];
    } else {
        while (more && j + 1 < n && s[j] == sep && is_digit(U(s, j + 1))) {
            j++;
            while (j < n && is_digit(U(s, j)))
                j++;
        }
        *skip = j;
    }
    for (size_t k = ng; k >= 1; k--) {
        size_t digits = gnd[k - 1], end = gend[k - 1];
        int whole = k == ng && !more;
        if (digits < 13 || digits > 19 || (!whole && sep != ' ') || !groups_ok(glen, k))
            continue;
        if (whole && end < n) {
            unsigned char c = U(s, end);
            if (is_alnum(c) || c == '_' || (c == '.' && end + 1 < n && is_digit(U(s, end + 1))))
                continue;
        }
        if (!card_network_ok(d, digits) || !luhn_ok(d, digits))
            continue;
        *m = (secret_match){i, end, SECRET_CARD};
        return 1;
    }
    return 0;
}

/* ---- the scan ---- */

#define KEY_KINDS (SECRETS_CREDENTIALS & ~SECRET_BIT(SECRET_CREDENTIAL))

static unsigned active_classes(unsigned kinds)
{
    unsigned c = C_MASK;
    if (kinds & KEY_KINDS)
        c |= C_KEY | C_UNDER | C_DASH;
    if (kinds & SECRET_BIT(SECRET_CREDENTIAL))
        c |= C_SCHEME | C_LABEL | C_DASH;
    if (kinds & SECRET_BIT(SECRET_EMAIL))
        c |= C_AT;
    if (kinds & SECRET_BIT(SECRET_CARD))
        c |= C_DIGIT;
    return c;
}

/* A key whose anchor byte is s[i] ('-', '_', 'A' or 'J'): where it would
 * start, or SIZE_MAX. */
static size_t key_start(const char *s, size_t from, size_t i)
{
    size_t b = SIZE_MAX;
    switch (s[i]) {
    case '-': /* sk-, xox?- */
        if (i >= from + 2 && s[i - 2] == 's' && s[i - 1] == 'k')
            b = i - 2;
        else if (i >= from + 4 && s[i - 4] == 'x' && s[i - 3] == 'o' && s[i - 2] == 'x')
            b = i - 4;
        break;
    case '_': /* gh?_, github_pat_ */
        if (i >= from + 3 && s[i - 3] == 'g' && s[i - 2] == 'h')
            b = i - 3;
        else if (i >= from + 6 && memcmp(s + i - 6, "github", 6) == 0)
            b = i - 6;
        break;
    case 'J': /* eyJ */
        if (i >= from + 2 && s[i - 2] == 'e' && s[i - 1] == 'y')
            b = i - 2;
        break;
    case 'A':
        b = i;
        break;
    }
    return b != SIZE_MAX && !in_word(s, b) ? b : SIZE_MAX;
}

static int key_at(const char *s, size_t n, size_t from, size_t i, unsigned kinds,
                  secret_match *m)
{
    size_t b = key_start(s, from, i);
    return b != SIZE_MAX && prefixed_at(s, n, b, m) && (kinds & SECRET_BIT(m->kind));
}

/* The detector for class c at s[i].  Returns 1 with *m, or 0 with *next
 * where the scan goes on. */
static int __attribute__((noinline)) try_at(const char *s, size_t n, size_t from, size_t i,
                                            unsigned c, unsigned kinds, secret_match *m,
                                            size_t *next, uint32_t *masks)
{
    *next = i + 1;
    switch (c) {
    case C_MASK: {
        size_t l = secrets_mask_at(s, n, i);
        if (l) {
            *next = i + l;
            (*masks)++;
        }
        return 0;
    }
    case C_KEY:
    case C_UNDER:
        return key_at(s, n, from, i, kinds, m);
    case C_DASH:
        return ((kinds & KEY_KINDS) && key_at(s, n, from, i, kinds, m)) ||
               ((kinds & SECRET_BIT(SECRET_CREDENTIAL)) && option_at(s, n, i, kinds, m));
    case C_SCHEME:
        return scheme_at(s, n, i, kinds, m);
    case C_LABEL:
        return label_at(s, n, from, i, kinds, m);
    case C_AT:
        return email_at(s, n, from, i, m);
    case C_DIGIT:
        return card_at(s, n, i, m, next);
    }
    return 0;
}

/* A cheap look at the neighbours of a trigger byte, before try_at: most
 * digits and letters that trigger sit inside words (hex hashes, "about"). */
static inline int worth_trying(const unsigned char *u, size_t n, size_t k, unsigned c)
{
    unsigned char p = k ? u[k - 1] : ' ';
    int word = is_keych(p);
    switch (c) {
    case C_DIGIT:
        return !word;
    case C_SCHEME:
        return !word;
    case C_KEY:
        return u[k] == 'A' ? !word : p == 'y';
    case C_UNDER:
        return k >= 3 && (u[k - 2] == 'h' || p == 'b');
    case C_DASH:
        return p == 'k' || (k >= 4 && u[k - 2] == 'x') || (k + 1 < n && u[k + 1] == '-');
    }
    return 1;
}

#ifdef __SSE2__
static __m128i in_range(__m128i v, char lo, char hi)
{
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((char)(hi - lo))), d);
}

/* Bit k set when p[k] may trigger (a superset of cls[]; cls[] decides):
 * ':' '=' '@' '[' '-' '_' 'J' anywhere; digits, 'A', 'B', 'b' only at the
 * start of a word, which skips the digits of hex hashes and most letters.
 * prev_word: the byte before p[0] is a key character. */
static unsigned triggers16(const unsigned char *p, int prev_word)
{
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i digit = in_range(v, '0', '9');
    __m128i letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
    __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
    __m128i under = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
    __m128i word = _mm_or_si128(_mm_or_si128(digit, letter), _mm_or_si128(dash, under));
    __m128i starts = _mm_or_si128(digit, in_range(v, 'A', 'B'));
    starts = _mm_or_si128(starts, _mm_cmpeq_epi8(v, _mm_set1_epi8('b')));
    __m128i any = _mm_or_si128(dash, under);
    any = _mm_or_si128(any, in_range(v, ':', '='));
    any = _mm_or_si128(any, _mm_cmpeq_epi8(v, _mm_set1_epi8('@')));
    any = _mm_or_si128(any, _mm_cmpeq_epi8(v, _mm_set1_epi8('[')));
    any = _mm_or_si128(any, _mm_cmpeq_epi8(v, _mm_set1_epi8('J')));
    unsigned after_word = ((unsigned)_mm_movemask_epi8(word) << 1) | (prev_word ? 1u : 0u);
    return ((unsigned)_mm_movemask_epi8(starts) & ~after_word) | (unsigned)_mm_movemask_epi8(any);
}
#endif

/* secrets_next, also counting the masks it steps over in *masks. */
static int scan_next(const char *s, size_t n, size_t from, unsigned kinds, secret_match *m,
                     uint32_t *masks)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned active = active_classes(kinds);
    size_t i = from, next;
#ifdef __SSE2__
    /* 16 bytes at a time; the detectors run only at candidate bytes */
    while (i + 16 <= n) {
        size_t base = i;
        unsigned bits = triggers16(u + base, base > 0 && is_keych(u[base - 1]));
        i = base + 16;
        while (bits) {
            size_t k = base + (size_t)__builtin_ctz(bits);
            bits &= bits - 1;
            unsigned c = cls[u[k]] & active;
            if (!c || !worth_trying(u, n, k, c))
                continue;
            if (try_at(s, n, from, k, c, kinds, m, &next, masks))
                return 1;
            if (next >= base + 16) { /* skipped past this block */
                i = next;
                break;
            }
            bits &= ~0u << (next - base);
        }
    }
#endif
    for (; i < n; i++) {
        unsigned c = cls[u[i]] & active;
        if (__builtin_expect(c == 0, 1) || !worth_trying(u, n, i, c))
            continue;
        if (try_at(s, n, from, i, c, kinds, m, &next, masks))
            return 1;
        i = next - 1;
    }
    return 0;
}

int secrets_next(const char *s, size_t n, size_t from, unsigned kinds, secret_match *m)
{
    uint32_t masks = 0;
    return scan_next(s, n, from, kinds, m, &masks);
}

/* ---- masking ---- */

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

/* One pass: 0 if nothing was found, 1 with *out, -1 if out of memory. */
static int mask_pass(const char *s, size_t n, unsigned kinds, secrets_tally *t, char **out,
                     size_t *outlen)
{
    secret_match m;
    if (!scan_next(s, n, 0, kinds, &m, &t->masks_seen))
        return 0;
    out_buf o = {0};
    size_t copied = 0;
    do {
        const char *name = kind_names[m.kind];
        put(&o, s + copied, m.start - copied);
        put(&o, "[REDACTED:", 10);
        put(&o, name, strlen(name));
        put(&o, "]", 1);
        t->found[m.kind]++;
        copied = m.end;
    } while (scan_next(s, n, copied, kinds, &m, &t->masks_seen));
    put(&o, s + copied, n - copied);
    if (o.oom) {
        free(o.p);
        return -1;
    }
    *out = o.p;
    *outlen = o.len;
    return 1;
}

/* Passes until one finds nothing.  A finding can depend on its
 * surroundings (an e-mail domain that held a key reads differently once
 * the key is a mask), so the first pass alone is not always final; every
 * pass turns some unmasked bytes into masks, so this ends.  Text without
 * findings costs one pass. */
int secrets_mask_kinds(const char *s, size_t n, unsigned kinds, secrets_tally *tally, char **out,
                       size_t *outlen)
{
    secrets_tally scratch = {0};
    secrets_tally *t = tally ? tally : &scratch;
    char *cur = NULL, *next;
    size_t curlen = n, nextlen;
    for (int pass = 0; pass < SECRETS_MAX_PASSES; pass++) {
        int rc = mask_pass(cur ? cur : s, curlen, kinds, t, &next, &nextlen);
        if (rc < 0) {
            free(cur);
            return -1;
        }
        if (rc == 0)
            break;
        free(cur);
        cur = next;
        curlen = nextlen;
    }
    if (!cur)
        return 0;
    *out = cur;
    if (outlen)
        *outlen = curlen;
    return 1;
}

char *secrets_mask(const char *s, size_t n, size_t *outlen)
{
    char *out = NULL;
    if (secrets_mask_kinds(s, n, SECRETS_CREDENTIALS, NULL, &out, outlen) <= 0)
        return NULL;
    return out;
}
