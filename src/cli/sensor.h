/* sensor.h: the running sensor behind `record`: TLS capture, host
 * activity, the event pipeline and its sinks, the file monitor, the
 * control socket and the Prometheus endpoint, in one event loop that
 * reloads its configuration on SIGHUP. */
#ifndef OISP_CLI_SENSOR_H
#define OISP_CLI_SENSOR_H

#include <stddef.h>

/* One command-line setting: flag (for `config show`), key, value. */
typedef struct sensor_setting {
    const char *flag;
    const char *key;
    const char *value;
} sensor_setting;

#define SENSOR_MAX_SETTINGS 256

typedef struct sensor_args {
    const char *config_path;   /* --config, or NULL for the usual lookup */
    const char *control_path;  /* "" for none */
    char **environ;
    sensor_setting settings[SENSOR_MAX_SETTINGS]; /* applied over file and environment */
    size_t nsettings;
    int verbose, quiet;
} sensor_args;

struct config;
/* The configuration a's file, environment and settings give, validated.
 * 0, or -1 with the errors in err. */
int sensor_load_config(const sensor_args *a, struct config *out, char *err, size_t errlen);

/* Runs until SIGINT/SIGTERM; returns the exit status. */
int sensor_run(const sensor_args *a);

#endif
