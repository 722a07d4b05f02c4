/* A small JSON writer for `jumpfs status --json`: values appended to a
 * GString, and a GVariant (the status document) written as JSON.
 *
 * Strings are escaped so that the output is always valid JSON and plain
 * ASCII-safe for control characters: quotes, backslashes and control
 * characters are escaped, and a byte that is not part of valid UTF-8
 * (a file name, a server's message) becomes \u00XX (its value as a
 * Latin-1 code point) rather than breaking the document. */
#ifndef JUMPFS_CLI_JSON_H
#define JUMPFS_CLI_JSON_H

#include <glib.h>

/* Appends s (len bytes, or -1 for up to NUL) as a JSON string literal. */
void json_append_string(GString *out, const char *s, gssize len);

/* Appends value as JSON: a{sv} (and a{s*}) dictionaries become objects in
 * their order, other arrays and tuples become arrays, maybe types are
 * null or their value, variants their content; booleans, numbers and
 * strings as such (doubles that are not finite: null). indent: spaces per
 * level, 0 for one line. */
void json_append_variant(GString *out, GVariant *value, guint indent);

#endif
