/* fuzz_toml.c: libFuzzer target for the TOML parser (src/config/toml.c),
 * which reads configuration files and OISP_* environment values.  Input:
 * the document.  A parsed document is walked completely through the public
 * accessors (every key, string, number, date-time formatted), so the tree
 * the parser built is read back as the configuration layer would; a failed
 * parse must say where and why. */
#include <string.h>

#include "config/toml.h"
#include "fuzz.h"

static void walk(const toml_value *v, int depth)
{
    FUZZ_CHECK(depth <= TOML_MAX_DEPTH + 1);
    if (depth > 0)
        FUZZ_CHECK(toml_line(v) >= 1 && toml_column(v) >= 1);
    toml_type t = toml_type_of(v);
    (void)toml_type_name(t);
    size_t n = toml_count(v);
    switch (t) {
    case TOML_TABLE:
        for (size_t i = 0; i < n; i++) {
            const char *key = NULL;
            size_t keylen = 0;
            const toml_value *c = toml_table_at(v, i, &key, &keylen);
            FUZZ_CHECK(c && key);
            FUZZ_CHECK(toml_table_getn(v, key, keylen) != NULL);
            walk(c, depth + 1);
        }
        (void)toml_is_inline(v);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < n; i++) {
            const toml_value *c = toml_array_at(v, i);
            FUZZ_CHECK(c != NULL);
            walk(c, depth + 1);
        }
        FUZZ_CHECK(toml_array_at(v, n) == NULL);
        break;
    case TOML_STRING: {
        size_t len = 0;
        const char *s = toml_string(v, &len);
        FUZZ_CHECK(s && s[len] == 0);
        break;
    }
    case TOML_INTEGER: (void)toml_integer(v); break;
    case TOML_FLOAT: (void)toml_float(v); break;
    case TOML_BOOLEAN: (void)toml_boolean(v); break;
    default: {
        const toml_datetime *dt = toml_datetime_of(v);
        FUZZ_CHECK(dt != NULL);
        char buf[64];
        int k = toml_datetime_format(t, dt, buf, sizeof buf);
        FUZZ_CHECK(k > 0 && (size_t)k < sizeof buf);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    toml_error err;
    memset(&err, 0, sizeof err);
    toml_doc *d = toml_parse((const char *)data, size, &err);
    if (!d) {
        FUZZ_CHECK(err.msg[0] != 0 && memchr(err.msg, 0, sizeof err.msg) != NULL);
        FUZZ_CHECK(err.line >= 0 && err.column >= 0);
        return 0;
    }
    const toml_value *root = toml_doc_root(d);
    FUZZ_CHECK(root && toml_type_of(root) == TOML_TABLE);
    walk(root, 0);
    toml_doc_free(d);
    return 0;
}
