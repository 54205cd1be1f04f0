/* event.c: OISP envelope construction and serialisation (see event.h). */
#include "events/event.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "events/clock.h"
#include "events/ulid.h"
#include "util/jsonfast.h"

static void os_version(char *out, size_t n)
{
    FILE *f = fopen("/etc/os-release", "re");
    out[0] = 0;
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = 0;
        size_t l = strlen(v);
        if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
            v[l - 1] = 0;
            v++;
        }
        snprintf(out, n, "%s", v);
        break;
    }
    fclose(f);
}

static const char *oisp_arch(const char *machine)
{
    static const char *const known[] = {"x86_64", "aarch64", "arm", "i686"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(machine, known[i]) == 0)
            return known[i];
    return "other";
}

json_t *event_host_info(void)
{
    json_t *h = json_object();
    char name[256] = "";
    if (gethostname(name, sizeof(name) - 1) == 0 && name[0])
        json_object_set_new(h, "hostname", json_string(name));
    json_object_set_new(h, "os", json_string("linux"));
    char osv[512];
    os_version(osv, sizeof(osv));
    json_t *v = osv[0] ? json_string(osv) : NULL; /* NULL: not UTF-8 */
    if (v)
        json_object_set_new(h, "os_version", v);
    struct utsname u;
    if (uname(&u) == 0) {
        json_object_set_new(h, "arch", json_string(oisp_arch(u.machine)));
        json_object_set_new(h, "kernel_version", json_string(u.release));
    }
    return h;
}

json_t *event_new(const char *type, uint64_t ts_mono, const char *capture_method,
                  const char *capture_point, json_t *host, char id_out[27])
{
    uint64_t wall = clock_wall_ns(ts_mono);
    char id[ULID_LEN + 1], ts[32];
    ulid_new(id, wall / 1000000ull);
    clock_rfc3339(wall, ts);
    if (id_out)
        memcpy(id_out, id, sizeof(id));
    json_t *ev = json_object();
    json_object_set_new(ev, "oisp_version", json_string(OISP_VERSION));
    json_object_set_new(ev, "event_id", json_string(id));
    json_object_set_new(ev, "event_type", json_string(type));
    json_object_set_new(ev, "ts", json_string(ts));
    json_object_set_new(ev, "ts_mono", json_integer((json_int_t)ts_mono));
    if (host)
        json_object_set(ev, "host", host);
    json_t *src = json_object();
    json_object_set_new(src, "collector", json_string(OISP_COLLECTOR));
    json_object_set_new(src, "collector_version", json_string(OISP_SENSOR_VERSION));
    if (capture_method)
        json_object_set_new(src, "capture_method", json_string(capture_method));
    if (capture_point)
        json_object_set_new(src, "capture_point", json_string(capture_point));
    json_object_set_new(ev, "source", src);
    json_t *conf = json_object();
    json_object_set_new(conf, "level", json_string("high"));
    json_object_set_new(conf, "completeness", json_string("full"));
    json_object_set_new(ev, "confidence", conf);
    return ev;
}

char *event_serialize(const json_t *ev, size_t *len)
{
    char *s;
    size_t n;
    if (jsonfast_dump(ev, &s, &n) != 0)
        return NULL;
    if (len)
        *len = n;
    return s;
}
