/* status.h: `oisp-sensor status`: a running sensor's counters, read over
 * its control socket (see control.h). */
#ifndef OISP_CLI_STATUS_H
#define OISP_CLI_STATUS_H

int cmd_status(int argc, char **argv);

#endif
