/* record.h: `oisp-sensor record`: capture, decode and write events. */
#ifndef OISP_CLI_RECORD_H
#define OISP_CLI_RECORD_H

int cmd_record(int argc, char **argv);

#endif
