/* Pure helpers for ssh_config: patterns, numbers, words, URIs, names.
 *
 * Each one mirrors the OpenSSH 9.2 function named in its comment (misc.c,
 * match.c, readconf.c), because ssh_config semantics live in their details.
 * No state, no I/O except getpwnam() for ~user and getservbyname() for
 * "Port ssh". Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_UTIL_H
#define JUMPFS_CHAIN_CONFIG_UTIL_H

#include <glib.h>

/* match_pattern(): '*' and '?', case-sensitive. */
gboolean config_pattern_match(const char *pattern, const char *text);

/* match_pattern_list(): comma list of patterns, '!' negates; returns 1 on
 * a positive match, -1 on a negated one, 0 on none. lower: the patterns
 * are lowercased first (the text is not). */
int config_pattern_list(const char *text, const char *list, gboolean lower);

/* match_hostname(): the host lowercased against a lowercased list. */
gboolean config_hostname_match(const char *host, const char *list);

/* argv_split(..., terminate_on_comment=1): blanks separate words, quotes
 * of either kind group, backslash escapes a quote, a backslash or (outside
 * quotes) a blank; '#' at the start of a word ends the line. NULL on an
 * unbalanced quote. The result is NULL-terminated. */
char **config_split_words(const char *text);

/* strdelim(): the next word of *s, splitting on blanks or one '=', with
 * double quotes only; *s is advanced (NULL at the end). Returns NULL on an
 * unterminated quote. Modifies the buffer *s points into. */
char *config_strdelim(char **s);

/* a2port(): 0..65535 or a service name; -1 if neither. */
int config_parse_port(const char *text);

/* convtime(): "90", "1m30s", "2h"... in seconds; -1 if malformed. */
int config_parse_time(const char *text);

/* atoi_err(): 0..INT_MAX; returns NULL and sets *value, or OpenSSH's
 * reason ("missing", "invalid", "too large"). */
const char *config_parse_int(const char *text, int *value);

/* scan_scaled(): "1G", "500M", "64K", "123"; FALSE if malformed. */
gboolean config_parse_scaled(const char *text, gint64 *value);

/* valid_env_name(): [A-Za-z0-9_]+. */
gboolean config_valid_env_name(const char *name);

/* valid_domain() as CanonicalDomains checks it; NULL or OpenSSH's reason
 * (a static string). */
const char *config_valid_domain(const char *name);

/* Debian's OpenSSH 9.2 checks of a command-line host name and user (CVE-
 * 2023-51385): no shell metacharacters that could reach a command. */
gboolean config_valid_hostname(const char *name);
gboolean config_valid_user(const char *name);

/* is_addr(): a numeric IPv4 or IPv6 address. */
gboolean config_is_address(const char *name);

/* ~ and ~user at the start of path, as tilde_expand() does; NULL if ~user
 * is unknown. local_user's ~ is home_dir. */
char *config_tilde_expand(const char *path, const char *home_dir,
                          const char *local_user);

/* parse_ssh_uri(): "ssh://[user@]host[:port]", no path. Returns -1 on a
 * malformed URI, 0 on success (port -1 if none), 1 if text is no ssh URI. */
int config_parse_ssh_uri(const char *text, char **user, char **host,
                         int *port);

/* parse_user_host_port(): [user@]host[:port] (IPv6 in brackets); the last
 * '@' ends the user. *user NULL and *port -1 when not given. */
gboolean config_parse_user_host_port(const char *text, char **user,
                                     char **host, int *port);

/* One ProxyJump / -J element: an ssh URI or [user@]host[:port]. */
gboolean config_parse_jump_element(const char *text, char **user,
                                   char **host, int *port);

/* Whole ProxyJump / -J list: "none" or comma-separated elements. */
gboolean config_jump_list_valid(const char *list);

/* An lowercased copy (ASCII). */
char *config_lowercase(const char *text);



/* Sets a JUMPFS_ERROR_CONFIG error prefixed with "FILE line N: " (just
 * "FILE: " when line is 0, nothing when file is NULL). Returns FALSE. */
gboolean config_set_error(GError **error, const char *file, int line,
                          const char *format, ...) G_GNUC_PRINTF(4, 5);
#endif
