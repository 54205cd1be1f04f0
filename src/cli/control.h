/* control.h: the running sensor's control socket.  A unix stream socket
 * (mode 0600, in a 0750 directory: root only) served by one thread: a
 * client sends one command line ("status") and gets one JSON document
 * back.  `oisp-sensor status` is the client. */
#ifndef OISP_CLI_CONTROL_H
#define OISP_CLI_CONTROL_H

#include <jansson.h>
#include <stddef.h>

#define CONTROL_DEFAULT_PATH "/run/oisp/control.sock"

/* Builds the answer to a command; called on the control thread. */
typedef json_t *(*control_status_fn)(void *ctx);

typedef struct control control;

control *control_start(const char *path, control_status_fn status, void *ctx, char *err,
                       size_t errlen);
void control_stop(control *c);

/* Client side: sends cmd to the socket at path; returns the parsed answer or
 * NULL with the reason in err. */
json_t *control_request(const char *path, const char *cmd, char *err, size_t errlen);

#endif
