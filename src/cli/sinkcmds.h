/* sinkcmds.h: `oisp-sensor dlq`, the dead-letter tools. */
#ifndef OISP_CLI_SINKCMDS_H
#define OISP_CLI_SINKCMDS_H

/* argv[0] is "dlq".  Returns the process exit status. */
int cmd_dlq(int argc, char **argv);

#endif
