/* hostcmds.h: the host-monitoring commands: `top`, `metrics`,
 * `connections` and `fanotify` (see each command's --help). */
#ifndef OISP_CLI_HOSTCMDS_H
#define OISP_CLI_HOSTCMDS_H

int cmd_top(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_connections(int argc, char **argv);
int cmd_fanotify(int argc, char **argv);

#endif
