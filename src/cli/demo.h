/* demo.h: `oisp-sensor demo`: a newcomer sees real events in seconds,
 * without an API key.
 *
 * With the privileges capture needs, the demo captures for real: a local
 * HTTPS fake of an OpenAI-compatible provider and a client, each in its own
 * child process using the host's libssl, make three exchanges (plain,
 * streaming, tool call) while the sensor runs; the events are then shown
 * with `show`.  Without privileges it says so and shows a file that an
 * earlier `oisp-sensor demo` recorded (packaging/demo-events.jsonl,
 * installed as share/oisp-sensor/demo-events.jsonl). */
#ifndef OISP_CLI_DEMO_H
#define OISP_CLI_DEMO_H

/* The command.  argv[0] is "demo".  Returns 0 when the events were shown
 * (live: every exchange of the demo client was captured), 1 when the demo
 * failed, 2 on a usage error. */
int cmd_demo(int argc, char **argv);

/* The recorded events shown without privileges: the first readable of
 * EXE_DIR/../share/oisp-sensor/demo-events.jsonl,
 * /usr/share/oisp-sensor/demo-events.jsonl and
 * EXE_DIR/../packaging/demo-events.jsonl (a build tree), where EXE_DIR is
 * the directory of exe.  Writes it to out and returns 0, or -1 if none. */
int demo_find_recorded(const char *exe, char *out, unsigned outlen);

#endif
