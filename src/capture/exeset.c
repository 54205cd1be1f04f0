/* exeset.c: open addressing with linear probing over exe_id (see exeset.h). */
#include "capture/exeset.h"

#include <string.h>

static int is_free(exe_id e) { return e.dev == 0 && e.ino == 0; }
static int same(exe_id a, exe_id b) { return a.dev == b.dev && a.ino == b.ino; }

/* id's slot, or the free slot where it would go (the set is never full). */
static size_t slot_of(const exeset *s, exe_id id)
{
    uint64_t h = (id.ino ^ (id.dev * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    size_t i = (size_t)(h >> 40) % EXESET_SLOTS;
    while (!is_free(s->slot[i]) && !same(s->slot[i], id))
        i = (i + 1) % EXESET_SLOTS;
    return i;
}

int exeset_has(const exeset *s, exe_id id)
{
    return !is_free(id) && same(s->slot[slot_of(s, id)], id);
}

void exeset_add(exeset *s, exe_id id)
{
    if (is_free(id) || exeset_has(s, id))
        return;
    if (s->n >= EXESET_SLOTS / 4 * 3) {
        memset(s->slot, 0, sizeof(s->slot));
        s->n = 0;
    }
    s->slot[slot_of(s, id)] = id;
    s->n++;
}
