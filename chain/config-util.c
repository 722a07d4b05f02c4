/* Pure ssh_config helpers; see config-util.h for which OpenSSH function
 * each one follows. */
#include "chain/config-util.h"

#include "chain/errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_WHITESPACE " \t\r\n"

/* The same answers as OpenSSH's recursive match_pattern(), in O(n*m):
 * after a mismatch only the last '*' needs to swallow one more character
 * (a hostile pattern like "*a*a*a*a*b" is exponential the recursive way). */
gboolean
config_pattern_match(const char *pattern, const char *text)
{
	const char *star_pattern = NULL, *star_text = NULL;

	while (*text != '\0') {
		if (*pattern == '*') {
			star_pattern = ++pattern;
			star_text = text;
		} else if (*pattern != '\0' && (*pattern == '?' || *pattern == *text)) {
			pattern++;
			text++;
		} else if (star_pattern != NULL) {
			pattern = star_pattern;
			text = ++star_text;
		} else {
			return FALSE;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

int
config_pattern_list(const char *text, const char *list, gboolean lower)
{
	g_auto(GStrv) patterns = g_strsplit(list, ",", -1);
	int result = 0;

	for (char **p = patterns; *p != NULL; p++) {
		gboolean negated = (*p)[0] == '!';
		const char *pattern = *p + (negated ? 1 : 0);
		g_autofree char *folded = lower ? config_lowercase(pattern) : NULL;
		/* OpenSSH refuses a sub-pattern of 1023+ bytes outright. */
		if (strlen(pattern) >= 1023)
			return 0;
		if (config_pattern_match(lower ? folded : pattern, text)) {
			if (negated)
				return -1;
			result = 1;
		}
	}
	return result;
}

gboolean
config_hostname_match(const char *host, const char *list)
{
	g_autofree char *lower = config_lowercase(host);
	return config_pattern_list(lower, list, TRUE) == 1;
}

char *
config_lowercase(const char *text)
{
	char *copy = g_strdup(text);
	for (char *p = copy; *p != '\0'; p++)
		*p = g_ascii_tolower(*p);
	return copy;
}

char **
config_split_words(const char *text)
{
	GPtrArray *words = g_ptr_array_new();
	const char *p = text;

	while (*p != '\0') {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		GString *word = g_string_new(NULL);
		char quote = 0;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && (p[1] == '\'' || p[1] == '"' || p[1] == '\\' ||
			                   (quote == 0 && p[1] == ' ')))
				g_string_append_c(word, *++p);
			else if (quote == 0 && (*p == ' ' || *p == '\t'))
				break;
			else if (quote == 0 && (*p == '"' || *p == '\''))
				quote = *p;
			else if (quote != 0 && *p == quote)
				quote = 0;
			else
				g_string_append_c(word, *p);
		}
		g_ptr_array_add(words, g_string_free(word, FALSE));
		if (quote != 0) {
			g_ptr_array_add(words, NULL);
			g_strfreev((char **)g_ptr_array_free(words, FALSE));
			return NULL;
		}
	}
	g_ptr_array_add(words, NULL);
	return (char **)g_ptr_array_free(words, FALSE);
}

char *
config_strdelim(char **s)
{
	char *old = *s;
	gboolean equals = FALSE;

	if (old == NULL)
		return NULL;
	*s = strpbrk(old, CONFIG_WHITESPACE "\"=");
	if (*s == NULL)
		return old;
	if (**s == '"') {
		memmove(*s, *s + 1, strlen(*s)); /* the NUL too */
		*s = strpbrk(*s, "\"");
		if (*s == NULL)
			return NULL;
		**s = '\0';
		*s += strspn(*s + 1, CONFIG_WHITESPACE) + 1;
		return old;
	}
	if (**s == '=')
		equals = TRUE;
	**s = '\0';
	*s += strspn(*s + 1, CONFIG_WHITESPACE) + 1;
	if (**s == '=' && !equals)
		*s += strspn(*s + 1, CONFIG_WHITESPACE) + 1;
	return old;
}

/* strtonum(text, 0, max): decimal with strtoll's leading blanks and sign. */
static gboolean
config_strtonum(const char *text, long long max, long long *value,
                const char **reason)
{
	char *end = NULL;

	errno = 0;
	long long number = strtoll(text, &end, 10);
	if (end == text || *end != '\0') {
		*reason = "invalid";
		return FALSE;
	}
	if (number < 0 || (errno == ERANGE && number == LLONG_MIN)) {
		*reason = "too small";
		return FALSE;
	}
	if (number > max || errno == ERANGE) {
		*reason = "too large";
		return FALSE;
	}
	*value = number;
	return TRUE;
}

int
config_parse_port(const char *text)
{
	long long port;
	const char *reason;

	if (config_strtonum(text, 65535, &port, &reason))
		return (int)port;
	/* getservbyname_r reads /etc/services (files only, no network). */
	struct servent entry, *found = NULL;
	char buffer[4096];
	if (getservbyname_r(text, "tcp", &entry, buffer, sizeof buffer,
	                    &found) == 0 && found != NULL)
		return ntohs((uint16_t)found->s_port);
	return -1;
}

int
config_parse_time(const char *text)
{
	long total = 0;
	const char *p = text;

	if (p == NULL || *p == '\0')
		return -1;
	while (*p != '\0') {
		char *end;
		errno = 0;
		long secs = strtol(p, &end, 10);
		if (p == end || (errno == ERANGE && (secs == LONG_MIN ||
		                                      secs == LONG_MAX)) || secs < 0)
			return -1;
		long multiplier = 1;
		switch (*end++) {
		case '\0': end--; break;
		case 's': case 'S': break;
		case 'm': case 'M': multiplier = 60; break;
		case 'h': case 'H': multiplier = 60 * 60; break;
		case 'd': case 'D': multiplier = 24 * 60 * 60; break;
		case 'w': case 'W': multiplier = 7 * 24 * 60 * 60; break;
		default: return -1;
		}
		if (secs > INT_MAX / multiplier)
			return -1;
		secs *= multiplier;
		if (total > INT_MAX - secs)
			return -1;
		total += secs;
		p = end;
	}
	return (int)total;
}

const char *
config_parse_int(const char *text, int *value)
{
	long long number;
	const char *reason;

	if (text == NULL || *text == '\0')
		return "missing";
	if (!config_strtonum(text, INT_MAX, &number, &reason))
		return reason;
	*value = (int)number;
	return NULL;
}

gboolean
config_parse_scaled(const char *text, gint64 *value)
{
	static const char units[] = "BKMGTPE";
	const char *p = text;
	gboolean negative = FALSE;
	guint64 whole = 0, fraction = 0, fraction_scale = 1;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	if (!g_ascii_isdigit(*p) && *p != '.')
		return FALSE;
	for (; g_ascii_isdigit(*p); p++) {
		if (whole > (G_MAXINT64 - 9) / 10)
			return FALSE;
		whole = whole * 10 + (guint64)(*p - '0');
	}
	if (*p == '.')
		for (p++; g_ascii_isdigit(*p); p++)
			if (fraction_scale < 1000000000000000ULL) {
				fraction = fraction * 10 + (guint64)(*p - '0');
				fraction_scale *= 10;
			}
	guint64 multiplier = 1;
	if (*p != '\0') {
		const char *unit = strchr(units, g_ascii_toupper(*p));
		if (unit == NULL || p[1] != '\0')
			return FALSE;
		for (long i = 0; i < unit - units; i++)
			multiplier *= 1024;
	}
	if (whole > (guint64)G_MAXINT64 / multiplier)
		return FALSE;
	gint64 result = (gint64)(whole * multiplier +
	                         fraction * multiplier / fraction_scale);
	*value = negative ? -result : result;
	return TRUE;
}

gboolean
config_valid_env_name(const char *name)
{
	if (name[0] == '\0')
		return FALSE;
	for (const char *p = name; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '_')
			return FALSE;
	return TRUE;
}

const char *
config_valid_domain(const char *name)
{
	char last = '\0';

	if (name[0] == '\0')
		return "empty domain name";
	if (!g_ascii_isalnum(name[0]))
		return "domain name starts with invalid character";
	for (const char *p = name; *p != '\0'; p++) {
		char c = g_ascii_tolower(*p);
		if (last == '.' && c == '.')
			return "domain name contains consecutive separators";
		if (c != '.' && c != '-' && c != '_' && !g_ascii_isalnum(c))
			return "domain name contains invalid characters";
		last = c;
	}
	return NULL;
}

gboolean
config_valid_hostname(const char *name)
{
	if (name[0] == '-')
		return FALSE;
	for (const char *p = name; *p != '\0'; p++)
		if (strchr("'`\"$\\;&<>|(){},", *p) != NULL ||
		    g_ascii_isspace(*p) || g_ascii_iscntrl(*p))
			return FALSE;
	return TRUE;
}

gboolean
config_valid_user(const char *name)
{
	if (name[0] == '-')
		return FALSE;
	for (const char *p = name; *p != '\0'; p++) {
		if (g_ascii_iscntrl(*p) || strchr("'`\";&<>|(){}", *p) != NULL)
			return FALSE;
		if (g_ascii_isspace(*p) && p[1] == '-')
			return FALSE;
		if (*p == '\\' && p[1] == '\0')
			return FALSE;
	}
	return TRUE;
}

gboolean
config_is_address(const char *name)
{
	unsigned char buffer[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, name, buffer) == 1 ||
	       inet_pton(AF_INET6, name, buffer) == 1;
}

char *
config_tilde_expand(const char *path, const char *home_dir,
                    const char *local_user)
{
	if (path[0] != '~')
		return g_strdup(path);

	const char *slash = strchr(path, '/');
	gsize name_len = slash != NULL ? (gsize)(slash - path - 1)
	                               : strlen(path) - 1;
	const char *rest = slash != NULL ? slash : "";
	const char *home = home_dir;
	g_autofree char *buffer = NULL;
	struct passwd pw, *found = NULL;

	if (name_len > 0 && (local_user == NULL ||
	                     strlen(local_user) != name_len ||
	                     strncmp(path + 1, local_user, name_len) != 0)) {
		g_autofree char *name = g_strndup(path + 1, name_len);
		long size = sysconf(_SC_GETPW_R_SIZE_MAX);
		if (size <= 0)
			size = 16384;
		buffer = g_malloc((gsize)size);
		if (getpwnam_r(name, &pw, buffer, (size_t)size, &found) != 0 ||
		    found == NULL)
			return NULL;
		home = found->pw_dir;
	}
	/* Avoid "//x" from a home of "/". */
	if (rest[0] == '/' && g_str_has_suffix(home, "/"))
		rest++;
	return g_strconcat(home, rest, NULL);
}

/* hpdelim2(): the host field of *s ("[v6]" kept whole), ending at ':' or
 * '/'; *delim says which; *s moves past it (NULL at the end). */
static char *
config_hpdelim(char **s, char *delim)
{
	char *old = *s, *p = *s;

	if (old == NULL)
		return NULL;
	if (*p == '[') {
		p = strchr(p, ']');
		if (p == NULL)
			return NULL;
		p++;
	} else if ((p = strpbrk(p, ":/")) == NULL) {
		p = old + strlen(old);
	}
	switch (*p) {
	case '\0':
		*s = NULL;
		break;
	case ':':
	case '/':
		if (delim != NULL)
			*delim = *p;
		*p = '\0';
		*s = p + 1;
		break;
	default:
		return NULL;
	}
	return old;
}

/* cleanhostname(): "[v6]" -> "v6". */
static char *
config_clean_hostname(const char *host)
{
	gsize len = strlen(host);
	if (host[0] == '[' && len >= 2 && host[len - 1] == ']')
		return g_strndup(host + 1, len - 2);
	return g_strdup(host);
}

/* urldecode(): %XX escapes; NULL on a bad one or an encoded NUL. */
static char *
config_url_decode(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '+') {
			g_string_append_c(out, ' ');
		} else if (*p == '%') {
			if (!g_ascii_isxdigit(p[1]) || !g_ascii_isxdigit(p[2]) ||
			    (p[1] == '0' && p[2] == '0')) {
				g_string_free(out, TRUE);
				return NULL;
			}
			g_string_append_c(out, (char)(g_ascii_xdigit_value(p[1]) * 16 +
			                              g_ascii_xdigit_value(p[2])));
			p += 2;
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

int
config_parse_ssh_uri(const char *text, char **user, char **host, int *port)
{
	static const char scheme[] = "ssh://";
	g_autofree char *copy = NULL, *name = NULL, *hostname = NULL;
	char *p, *at, delim = 0;
	int number = -1;

	*user = NULL;
	*host = NULL;
	*port = -1;
	if (strncmp(text, scheme, sizeof scheme - 1) != 0)
		return 1;
	copy = g_strdup(text + sizeof scheme - 1);
	p = copy;
	if ((at = strchr(p, '@')) != NULL) {
		*at = '\0';
		char *params = strchr(p, ';');
		if (params != NULL)
			*params = '\0'; /* connection parameters are ignored */
		if (*p == '\0' || (name = config_url_decode(p)) == NULL)
			return -1;
		p = at + 1;
	}
	char *field = config_hpdelim(&p, &delim);
	if (field == NULL || *field == '\0')
		return -1;
	hostname = config_clean_hostname(field);
	if (config_valid_domain(hostname) != NULL)
		return -1;
	if (p != NULL && *p != '\0') {
		if (delim == ':') {
			char *slash = strchr(p, '/');
			if (slash != NULL)
				*slash = '\0';
			if ((number = config_parse_port(p)) <= 0)
				return -1;
			p = slash != NULL ? slash + 1 : NULL;
		}
		if (p != NULL && *p != '\0')
			return -1; /* a path: not allowed for a host */
	}
	*user = g_steal_pointer(&name);
	*host = g_steal_pointer(&hostname);
	*port = number;
	return 0;
}

gboolean
config_parse_user_host_port(const char *text, char **user, char **host,
                            int *port)
{
	g_autofree char *copy = g_strdup(text);
	g_autofree char *name = NULL;
	char *p = copy, *at = strrchr(copy, '@');
	int number = -1;

	*user = NULL;
	*host = NULL;
	*port = -1;
	if (at != NULL) {
		*at = '\0';
		if (*p == '\0')
			return FALSE;
		name = g_strdup(p);
		p = at + 1;
	}
	char *field = config_hpdelim(&p, NULL);
	if (field == NULL || *field == '\0')
		return FALSE;
	if (p != NULL && *p != '\0' && (number = config_parse_port(p)) <= 0)
		return FALSE;
	*host = config_clean_hostname(field);
	*user = g_steal_pointer(&name);
	*port = number;
	return TRUE;
}

gboolean
config_parse_jump_element(const char *text, char **user, char **host,
                          int *port)
{
	int uri = config_parse_ssh_uri(text, user, host, port);
	if (uri <= 0)
		return uri == 0;
	return config_parse_user_host_port(text, user, host, port);
}

gboolean
config_jump_list_valid(const char *list)
{
	if (g_ascii_strcasecmp(list, "none") == 0)
		return TRUE;

	g_auto(GStrv) elements = g_strsplit(list, ",", -1);
	for (char **e = elements; *e != NULL; e++) {
		g_autofree char *user = NULL, *host = NULL;
		int port;
		if (!config_parse_jump_element(*e, &user, &host, &port))
			return FALSE;
	}
	return TRUE;
}

gboolean
config_set_error(GError **error, const char *file, int line,
                 const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *message = g_strdup_vprintf(format, ap);
	va_end(ap);

	if (file == NULL)
		g_set_error_literal(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		                    message);
	else if (line > 0)
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		            "%s line %d: %s", file, line, message);
	else
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG, "%s: %s",
		            file, message);
	return FALSE;
}
