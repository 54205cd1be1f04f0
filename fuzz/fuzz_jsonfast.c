/* fuzz_jsonfast.c: differential libFuzzer target for src/util/jsonfast.c
 * against the installed jansson, which jsonfast claims to match exactly:
 *   - jsonfast_loadb(buf) accepts iff json_loadb(buf, JSON_DECODE_ANY)
 *     does, and builds an equal tree;
 *   - jsonfast_dump(tree) gives the bytes of json_dumps(tree, JSON_COMPACT |
 *     JSON_ENCODE_ANY), or fails where jansson fails;
 *   - jsonfast_loadb_prefix() stops inside buf, and its value reparses to
 *     the same tree from the bytes it consumed.
 * Any disagreement aborts with both verdicts printed.  Input: the text. */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "util/jsonfast.h"

static void disagree(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "jsonfast and jansson disagree: %s (input %zu bytes)\n", what, size);
    fwrite(data, 1, size < 512 ? size : 512, stderr);
    fputc('\n', stderr);
    abort();
}

static void check_dump(const json_t *v, const uint8_t *data, size_t size)
{
    char *fast = NULL;
    size_t fast_len = 0;
    int rc = jsonfast_dump(v, &fast, &fast_len);
    char *ref = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if ((rc == 0) != (ref != NULL))
        disagree(rc == 0 ? "jsonfast dumped what jansson refused" : "jsonfast refused a dump", data, size);
    if (ref && (strlen(ref) != fast_len || memcmp(ref, fast, fast_len) != 0)) {
        fprintf(stderr, "jansson: %s\njsonfast: %s\n", ref, fast);
        disagree("dumped bytes differ", data, size);
    }
    free(fast);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    const char *errpos = NULL;
    json_t *fast = jsonfast_loadb(buf, size, 0, &errpos);
    json_error_t err;
    json_t *ref = json_loadb(buf, size, JSON_DECODE_ANY, &err);
    if (!fast != !ref) {
        fprintf(stderr, "jansson: %s\n", ref ? "accepted" : err.text);
        disagree(fast ? "jsonfast accepted what jansson rejected" : "jsonfast rejected what jansson accepted",
                 data, size);
    }
    if (fast) {
        FUZZ_CHECK(errpos == NULL);
        if (!json_equal(fast, ref))
            disagree("trees differ", data, size);
        check_dump(fast, data, size);
    } else {
        FUZZ_CHECK(errpos >= buf && errpos <= buf + size);
    }
    json_decref(fast);
    json_decref(ref);

    size_t consumed = (size_t)-1;
    json_t *pre = jsonfast_loadb_prefix(buf, size, 0, &consumed, &errpos);
    if (pre) {
        FUZZ_CHECK(consumed > 0 && consumed <= size);
        json_t *again = jsonfast_loadb(buf, consumed, 0, NULL);
        FUZZ_CHECK(again != NULL && json_equal(pre, again));
        json_decref(again);
        json_decref(pre);
    }
    return 0;
}
