/* toml.h: a TOML 1.0 parser producing a small read-only tree.
 *
 * toml_parse() reads a whole document (UTF-8, at most TOML_MAX_DOC bytes)
 * and returns a toml_doc that owns every value, key and string in one arena;
 * toml_doc_free() releases it all at once.  Values are reached from
 * toml_doc_root() with the lookup and iteration functions below.  Every value
 * remembers the line and column (1-based, columns in code points) where it
 * starts: for a table made by a [header] that is the header, for a table made
 * implicitly (the "a" of [a.b] or a.b = 1) the first place that named it.
 *
 * Behaviour follows TOML 1.0 and, where the specification leaves room, what
 * python3's tomllib does (tests/toml_diff.py checks the two agree on
 * thousands of documents).  Deliberate differences, all rejections:
 *   - integers outside the signed 64-bit range are errors (TOML 1.0 says so;
 *     tomllib returns big integers);
 *   - documents over TOML_MAX_DOC bytes and values nested deeper than
 *     TOML_MAX_DEPTH levels below the root are errors (tomllib has no size
 *     limit and stops at Python's recursion limit).
 * Like tomllib, CRLF is read as LF (also inside multi-line strings), a year
 * 0000 date is rejected, and fractional seconds are truncated to
 * microseconds.
 *
 * A failed parse returns NULL and fills a toml_error with the line and column
 * of the problem and one sentence saying what is wrong. */
#ifndef OISP_CONFIG_TOML_H
#define OISP_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TOML_MAX_DOC   ((size_t)1 << 20)   /* bytes in one document */
#define TOML_MAX_DEPTH 100                 /* root = 0, each nesting +1 */

typedef enum toml_type {
    TOML_TABLE,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOLEAN,
    TOML_DATETIME,        /* offset date-time: 1979-05-27T07:32:00-08:00 */
    TOML_DATETIME_LOCAL,  /* 1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,      /* 1979-05-27 */
    TOML_TIME_LOCAL,      /* 07:32:00 */
} toml_type;

typedef struct toml_datetime {
    int year, month, day;        /* 0 for a local time */
    int hour, minute, second;    /* 0 for a local date */
    int microsecond;             /* fraction of a second, truncated */
    int offset_minutes;          /* TOML_DATETIME only; Z is 0 */
} toml_datetime;

typedef struct toml_error {
    int line, column;            /* 1-based; 0 when the whole input is at fault */
    char msg[200];
} toml_error;

typedef struct toml_doc toml_doc;
typedef struct toml_value toml_value;

/* Parse buf[0..len).  Returns the document, or NULL with *err filled. */
toml_doc *toml_parse(const char *buf, size_t len, toml_error *err);
void toml_doc_free(toml_doc *doc);
const toml_value *toml_doc_root(const toml_doc *doc);

toml_type toml_type_of(const toml_value *v);
const char *toml_type_name(toml_type t);          /* "integer", "local date", ... */
int toml_line(const toml_value *v);
int toml_column(const toml_value *v);

/* Tables and arrays.  toml_count is the number of entries or items (0 for
 * scalars); entries keep document order. */
size_t toml_count(const toml_value *v);
const toml_value *toml_array_at(const toml_value *arr, size_t i);
const toml_value *toml_table_at(const toml_value *tab, size_t i, const char **key,
                                size_t *keylen);
const toml_value *toml_table_get(const toml_value *tab, const char *key);
const toml_value *toml_table_getn(const toml_value *tab, const char *key, size_t keylen);
/* An inline table ({...}) or an array literal ([...]), as opposed to a
 * table from a [header] or dotted keys, or an array of [[tables]]. */
bool toml_is_inline(const toml_value *v);

/* Scalars.  Each returns a zero value for a value of another type. */
const char *toml_string(const toml_value *v, size_t *len); /* NUL-terminated;
                                                              may hold NULs */
int64_t toml_integer(const toml_value *v);
double toml_float(const toml_value *v);
bool toml_boolean(const toml_value *v);
const toml_datetime *toml_datetime_of(const toml_value *v); /* NULL if not one */

/* Date-times as RFC 3339 text with six fraction digits, e.g.
 * "1979-05-27T07:32:00.000000-08:00", "07:32:00.000000", "1979-05-27".
 * Returns the length snprintf would. */
int toml_datetime_format(toml_type t, const toml_datetime *dt, char *buf, size_t n);

/* Write s[0..len) as a TOML basic string, quotes and escapes included. */
void toml_write_string(FILE *f, const char *s, size_t len);

#endif
