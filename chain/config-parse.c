/* ssh_config tokenizing and parsing, following OpenSSH's readconf.c:
 * keyword table, quoting, value checks, Include. See config-parse.h. */
#include "chain/config-parse.h"

#include <glob.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/config.h"
#include "chain/errors.h"

#define CONFIG_BLANKS " \t\f\r\n"

static const struct {
	const char *name;
	ConfigOpcode op;
} config_keywords[] = {
	{ "host", CONFIG_OP_HOST },
	{ "match", CONFIG_OP_MATCH },
	{ "include", CONFIG_OP_INCLUDE },
	{ "hostname", CONFIG_OP_HOSTNAME },
	{ "user", CONFIG_OP_USER },
	{ "port", CONFIG_OP_PORT },
	{ "identityfile", CONFIG_OP_IDENTITY_FILE },
	{ "identitiesonly", CONFIG_OP_IDENTITIES_ONLY },
	{ "proxyjump", CONFIG_OP_PROXY_JUMP },
	{ "proxycommand", CONFIG_OP_PROXY_COMMAND },
	{ "userknownhostsfile", CONFIG_OP_USER_KNOWN_HOSTS },
	{ "globalknownhostsfile", CONFIG_OP_GLOBAL_KNOWN_HOSTS },
	{ "stricthostkeychecking", CONFIG_OP_STRICT_HOST_KEY },
	{ "connecttimeout", CONFIG_OP_CONNECT_TIMEOUT },
	{ "serveraliveinterval", CONFIG_OP_ALIVE_INTERVAL },
	{ "serveralivecountmax", CONFIG_OP_ALIVE_COUNT_MAX },
	{ "ciphers", CONFIG_OP_CIPHERS },
	{ "compression", CONFIG_OP_COMPRESSION },
	{ "batchmode", CONFIG_OP_BATCH_MODE },
	{ "passwordauthentication", CONFIG_OP_PASSWORD_AUTH },
	{ "kbdinteractiveauthentication", CONFIG_OP_KBDINT_AUTH },
	{ "challengeresponseauthentication", CONFIG_OP_KBDINT_AUTH },
	{ "pubkeyauthentication", CONFIG_OP_PUBKEY_AUTH },
	{ "ignoreunknown", CONFIG_OP_IGNORE_UNKNOWN },
};

/* Known OpenSSH client keywords (current, deprecated, removed, and the
 * Debian/Apple additions found in stock configs) that jumpfs accepts and
 * does not act on. ForwardAgent is here on purpose: jumpfs never forwards
 * an agent, whatever the configuration says. */
static const char *const config_ignored_keywords[] = {
	"addkeystoagent", "addressfamily", "afstokenpassing", "bindaddress",
	"bindinterface", "canonicaldomains", "canonicalizefallbacklocal",
	"canonicalizehostname", "canonicalizemaxdots",
	"canonicalizepermittedcnames", "casignaturealgorithms",
	"certificatefile", "channeltimeout", "checkhostip", "cipher",
	"clearallforwardings", "compressionlevel", "controlmaster",
	"controlpath", "controlpersist", "dsaauthentication",
	"dynamicforward", "enableescapecommandline", "enablesshkeysign",
	"escapechar", "exitonforwardfailure", "fallbacktorsh",
	"fingerprinthash", "forkafterauthentication", "forwardagent",
	"forwardx11", "forwardx11timeout", "forwardx11trusted",
	"gatewayports", "globalknownhostsfile2", "gssapiauthentication",
	"gssapiclientidentity", "gssapidelegatecredentials",
	"gssapikeyexchange", "gssapikexalgorithms",
	"gssapirenewalforcesrekey", "gssapiserveridentity", "gssapitrustdns",
	"hashknownhosts", "hostbasedacceptedalgorithms",
	"hostbasedauthentication", "hostbasedkeytypes", "hostkeyalgorithms",
	"hostkeyalias", "identityagent", "ipqos", "kbdinteractivedevices",
	"keepalive", "kerberosauthentication", "kerberostgtpassing",
	"kexalgorithms", "knownhostscommand", "localcommand", "localforward",
	"loglevel", "logverbose", "macs", "nohostauthenticationforlocalhost",
	"numberofpasswordprompts", "obscurekeystroketiming",
	"permitlocalcommand", "permitremoteopen", "pkcs11provider",
	"preferredauthentications", "protocol", "proxyusefdpass",
	"pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes", "rekeylimit",
	"remotecommand", "remoteforward", "requesttty", "requiredrsasize",
	"revokedhostkeys", "rhostsauthentication", "rhostsrsaauthentication",
	"rsaauthentication", "securitykeyprovider", "sendenv", "sessiontype",
	"setenv", "skeyauthentication", "smartcarddevice", "stdinnull",
	"streamlocalbindmask", "streamlocalbindunlink", "tag", "tcpkeepalive",
	"tisauthentication", "tunnel", "tunneldevice", "updatehostkeys",
	"usekeychain", "useprivilegedport", "useroaming", "usersh",
	"userknownhostsfile2", "verifyhostkeydns", "visualhostkey",
	"xauthlocation",
};

/* Files being read, innermost last: Include loops and depth. */
typedef struct {
	const ConfigParseContext *ctx;
	GPtrArray *stack; /* char *, canonical paths */
} ConfigParser;

static ConfigFile *config_parse_file(ConfigParser *parser, const char *path,
                                     gboolean must_exist, int depth,
                                     const char *from_file, int from_line,
                                     GError **error);

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

static ConfigOpcode
config_lookup_keyword(const char *keyword)
{
	for (gsize i = 0; i < G_N_ELEMENTS(config_keywords); i++)
		if (g_ascii_strcasecmp(keyword, config_keywords[i].name) == 0)
			return config_keywords[i].op;
	for (gsize i = 0; i < G_N_ELEMENTS(config_ignored_keywords); i++)
		if (g_ascii_strcasecmp(keyword, config_ignored_keywords[i]) == 0)
			return CONFIG_OP_IGNORED;
	return CONFIG_OP_BAD;
}

gboolean
config_pattern_match(const char *pattern, const char *text)
{
	const char *star_pattern = NULL, *star_text = NULL;

	while (*text != '\0') {
		if (*pattern == '*') {
			star_pattern = ++pattern;
			star_text = text;
		} else if (*pattern != '\0' &&
		           (*pattern == '?' ||
		            g_ascii_tolower(*pattern) == g_ascii_tolower(*text))) {
			pattern++;
			text++;
		} else if (star_pattern != NULL) {
			/* Let the last '*' swallow one more character. */
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

gboolean
config_pattern_list_match(const char *list, const char *text)
{
	g_auto(GStrv) patterns = g_strsplit(list, ",", -1);
	gboolean matched = FALSE;

	for (char **p = patterns; *p != NULL; p++) {
		gboolean negated = (*p)[0] == '!';
		if (config_pattern_match(*p + (negated ? 1 : 0), text)) {
			if (negated)
				return FALSE;
			matched = TRUE;
		}
	}
	return matched;
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

/* OpenSSH a2port(): a decimal 1..65535. */
static gboolean
config_parse_port(const char *text, int *port)
{
	long value = 0;

	if (*text == '\0')
		return FALSE;
	for (const char *p = text; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p))
			return FALSE;
		value = value * 10 + (*p - '0');
		if (value > 65535)
			return FALSE;
	}
	if (value == 0)
		return FALSE;
	*port = (int)value;
	return TRUE;
}

/* "[v6]", "[v6]:port", "host", "host:port" (OpenSSH hpdelim()). */
static gboolean
config_parse_host_port(const char *text, char **host, int *port)
{
	g_autofree char *name = NULL;
	const char *port_text = NULL;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL)
			return FALSE;
		name = g_strndup(text + 1, (gsize)(close - text - 1));
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0')
			return FALSE;
	} else {
		const char *colon = strchr(text, ':');
		name = colon != NULL ? g_strndup(text, (gsize)(colon - text))
		                     : g_strdup(text);
		if (colon != NULL)
			port_text = colon + 1;
	}
	if (name[0] == '\0' || strpbrk(name, " \t,/@[]") != NULL)
		return FALSE;
	*port = 0;
	if (port_text != NULL && port_text[0] != '\0' &&
	    !config_parse_port(port_text, port))
		return FALSE;
	*host = g_steal_pointer(&name);
	return TRUE;
}

/* %XX decoding of the user part of a URI; NULL on a bad escape or NUL. */
static char *
config_uri_decode(const char *text, gsize len)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		if (text[i] != '%') {
			g_string_append_c(out, text[i]);
			continue;
		}
		if (i + 2 >= len || !g_ascii_isxdigit(text[i + 1]) ||
		    !g_ascii_isxdigit(text[i + 2]) ||
		    (text[i + 1] == '0' && text[i + 2] == '0')) {
			g_string_free(out, TRUE);
			return NULL;
		}
		g_string_append_c(out, (char)(g_ascii_xdigit_value(text[i + 1]) * 16 +
		                              g_ascii_xdigit_value(text[i + 2])));
		i += 2;
	}
	return g_string_free(out, FALSE);
}

int
config_parse_ssh_uri(const char *text, char **user, char **host, int *port)
{
	static const char scheme[] = "ssh://";

	*user = NULL;
	*host = NULL;
	*port = 0;
	if (strncmp(text, scheme, sizeof scheme - 1) != 0)
		return 1;

	const char *authority = text + sizeof scheme - 1;
	gsize auth_len = strcspn(authority, "/");
	/* A path makes no sense for a hop; allow only a trailing '/'. */
	if (authority[auth_len] == '/' && authority[auth_len + 1] != '\0')
		return -1;

	g_autofree char *auth = g_strndup(authority, auth_len);
	g_autofree char *name = NULL;
	const char *host_port = auth;
	char *at = strchr(auth, '@');
	if (at != NULL) {
		/* ";fingerprint=..." connection parameters are not used. */
		gsize user_len = strcspn(auth, ";@");
		name = config_uri_decode(auth, user_len);
		if (name == NULL || name[0] == '\0')
			return -1;
		host_port = at + 1;
	}
	if (!config_parse_host_port(host_port, host, port))
		return -1;
	if (host_port[strlen(host_port) - 1] == ':') {
		g_clear_pointer(host, g_free); /* "host:" without a port */
		return -1;
	}
	*user = g_steal_pointer(&name);
	return 0;
}

gboolean
config_parse_jump_element(const char *text, char **user, char **host,
                          int *port)
{
	int uri = config_parse_ssh_uri(text, user, host, port);
	if (uri <= 0)
		return uri == 0;

	/* The last '@' ends the user, as in OpenSSH parse_user_host_port(). */
	const char *at = strrchr(text, '@');
	g_autofree char *name = NULL;
	if (at != NULL) {
		if (at == text)
			return FALSE;
		name = g_strndup(text, (gsize)(at - text));
	}
	if (!config_parse_host_port(at != NULL ? at + 1 : text, host, port))
		return FALSE;
	*user = g_steal_pointer(&name);
	return TRUE;
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

/* OpenSSH convtime(): "90", "1m30s", "2h"... in seconds. */
static gboolean
config_parse_time(const char *text, int *seconds)
{
	gint64 total = 0;

	if (*text == '\0')
		return FALSE;
	while (*text != '\0') {
		gint64 number = 0, unit = 1;
		if (!g_ascii_isdigit(*text))
			return FALSE;
		while (g_ascii_isdigit(*text)) {
			number = number * 10 + (*text++ - '0');
			if (number > G_MAXINT)
				return FALSE;
		}
		switch (g_ascii_tolower(*text)) {
		case '\0': break;
		case 's': unit = 1; text++; break;
		case 'm': unit = 60; text++; break;
		case 'h': unit = 60 * 60; text++; break;
		case 'd': unit = 24 * 60 * 60; text++; break;
		case 'w': unit = 7 * 24 * 60 * 60; text++; break;
		default: return FALSE;
		}
		total += number * unit;
		if (total > G_MAXINT)
			return FALSE;
	}
	*seconds = (int)total;
	return TRUE;
}

static gboolean
config_parse_count(const char *text, int *count)
{
	gint64 value = 0;

	if (*text == '\0')
		return FALSE;
	for (; *text != '\0'; text++) {
		if (!g_ascii_isdigit(*text))
			return FALSE;
		value = value * 10 + (*text - '0');
		if (value > G_MAXINT)
			return FALSE;
	}
	*count = (int)value;
	return TRUE;
}

/* yes/no keywords; PubkeyAuthentication also takes OpenSSH's
 * unbound/host-bound, both of which mean yes to a client. */
static gboolean
config_parse_flag(const char *text, gboolean pubkey, int *flag)
{
	if (g_ascii_strcasecmp(text, "yes") == 0 ||
	    g_ascii_strcasecmp(text, "true") == 0 ||
	    (pubkey && (g_ascii_strcasecmp(text, "unbound") == 0 ||
	                g_ascii_strcasecmp(text, "host-bound") == 0)))
		*flag = TRUE;
	else if (g_ascii_strcasecmp(text, "no") == 0 ||
	         g_ascii_strcasecmp(text, "false") == 0)
		*flag = FALSE;
	else
		return FALSE;
	return TRUE;
}

static gboolean
config_parse_strict(const char *text, int *strict)
{
	if (g_ascii_strcasecmp(text, "yes") == 0 ||
	    g_ascii_strcasecmp(text, "true") == 0)
		*strict = STRICT_HOSTKEY_YES;
	else if (g_ascii_strcasecmp(text, "no") == 0 ||
	         g_ascii_strcasecmp(text, "false") == 0 ||
	         g_ascii_strcasecmp(text, "off") == 0)
		*strict = STRICT_HOSTKEY_NO;
	else if (g_ascii_strcasecmp(text, "ask") == 0)
		*strict = STRICT_HOSTKEY_ASK;
	else if (g_ascii_strcasecmp(text, "accept-new") == 0)
		*strict = STRICT_HOSTKEY_ACCEPT_NEW;
	else
		return FALSE;
	return TRUE;
}

/* Arguments like OpenSSH argv_split(): blanks separate, single or double
 * quotes group, backslash escapes a quote, a backslash or (outside
 * quotes) a blank, and '#' at the start of a word ends the line. */
static gboolean
config_split_args(const char *text, GPtrArray *args)
{
	const char *p = text;

	while (*p != '\0') {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == '#')
			break;

		GString *arg = g_string_new(NULL);
		char quote = 0;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && (p[1] == '\'' || p[1] == '"' || p[1] == '\\' ||
			                   (quote == 0 && p[1] == ' ')))
				g_string_append_c(arg, *++p);
			else if (quote == 0 && (*p == ' ' || *p == '\t'))
				break;
			else if (quote == 0 && (*p == '"' || *p == '\''))
				quote = *p;
			else if (quote != 0 && *p == quote)
				quote = 0;
			else
				g_string_append_c(arg, *p);
		}
		g_ptr_array_add(args, g_string_free(arg, FALSE));
		if (quote != 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
config_parse_include(ConfigParser *parser, ConfigLine *line, int depth,
                     GError **error)
{
	const ConfigParseContext *ctx = parser->ctx;

	line->includes = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_file_free);
	for (char **arg = line->args; *arg != NULL; arg++) {
		g_autofree char *pattern = NULL;

		/* As OpenSSH: anchor every path; ~ only in user files. */
		if ((*arg)[0] == '~') {
			if (!ctx->user_config)
				return config_set_error(error, line->file, line->line,
					"Include path %s: ~ is only allowed in user configuration files",
					*arg);
			pattern = config_tilde_expand(*arg, ctx->home_dir,
			                              ctx->local_user);
			if (pattern == NULL)
				return config_set_error(error, line->file, line->line,
					"Include path %s: unknown user", *arg);
		} else if (g_path_is_absolute(*arg)) {
			pattern = g_strdup(*arg);
		} else {
			pattern = g_build_filename(ctx->include_dir, *arg, NULL);
		}

		glob_t matches;
		memset(&matches, 0, sizeof matches);
		int r = glob(pattern, 0, NULL, &matches);
		if (r == GLOB_NOMATCH) {
			globfree(&matches);
			continue; /* OpenSSH: an Include matching nothing is fine */
		}
		if (r != 0) {
			globfree(&matches);
			return config_set_error(error, line->file, line->line,
				"Include %s: glob failed", pattern);
		}
		for (size_t i = 0; i < matches.gl_pathc; i++) {
			GError *local = NULL;
			ConfigFile *file = config_parse_file(parser,
				matches.gl_pathv[i], FALSE, depth + 1, line->file,
				line->line, &local);
			if (local != NULL) {
				globfree(&matches);
				g_propagate_error(error, local);
				return FALSE;
			}
			if (file != NULL)
				g_ptr_array_add(line->includes, file);
		}
		globfree(&matches);
	}
	return TRUE;
}

/* Checks a line's values now, active or not, as OpenSSH does. */
static gboolean
config_check_values(ConfigLine *line, GError **error)
{
	guint nargs = g_strv_length(line->args);
	const char *arg = line->args[0];
	gboolean ok = TRUE;
	const char *what = "value";

	switch (line->op) {
	case CONFIG_OP_BAD:
	case CONFIG_OP_IGNORED:
	case CONFIG_OP_HOST:
	case CONFIG_OP_MATCH:
	case CONFIG_OP_INCLUDE:
	case CONFIG_OP_PROXY_COMMAND:
	case CONFIG_OP_USER_KNOWN_HOSTS:
	case CONFIG_OP_GLOBAL_KNOWN_HOSTS:
		return TRUE; /* any number of arguments, checked elsewhere */
	case CONFIG_OP_HOSTNAME:
	case CONFIG_OP_USER:
	case CONFIG_OP_IDENTITY_FILE:
	case CONFIG_OP_CIPHERS:
	case CONFIG_OP_IGNORE_UNKNOWN:
		break;
	case CONFIG_OP_PORT:
		ok = config_parse_port(arg, &line->value);
		what = "port number";
		break;
	case CONFIG_OP_IDENTITIES_ONLY:
	case CONFIG_OP_COMPRESSION:
	case CONFIG_OP_BATCH_MODE:
	case CONFIG_OP_PASSWORD_AUTH:
	case CONFIG_OP_KBDINT_AUTH:
	case CONFIG_OP_PUBKEY_AUTH:
		ok = config_parse_flag(arg, line->op == CONFIG_OP_PUBKEY_AUTH,
		                       &line->value);
		what = "yes/no value";
		break;
	case CONFIG_OP_STRICT_HOST_KEY:
		ok = config_parse_strict(arg, &line->value);
		what = "value (yes, no, ask, accept-new, off)";
		break;
	case CONFIG_OP_CONNECT_TIMEOUT:
	case CONFIG_OP_ALIVE_INTERVAL:
		ok = config_parse_time(arg, &line->value);
		what = "time value";
		break;
	case CONFIG_OP_ALIVE_COUNT_MAX:
		ok = config_parse_count(arg, &line->value);
		what = "number";
		break;
	case CONFIG_OP_PROXY_JUMP:
		ok = config_jump_list_valid(arg);
		what = "ProxyJump list";
		break;
	}
	if (!ok)
		return config_set_error(error, line->file, line->line,
		                        "%s: bad %s \"%s\"", line->keyword, what, arg);
	if (nargs > 1)
		return config_set_error(error, line->file, line->line,
		                        "%s: extra arguments at end of line",
		                        line->keyword);
	return TRUE;
}

static void
config_line_free(ConfigLine *line)
{
	g_free(line->keyword);
	g_strfreev(line->args);
	g_free(line->raw);
	if (line->includes != NULL)
		g_ptr_array_unref(line->includes);
	g_free(line);
}

/* Parses one line into file->lines; blank and comment lines add nothing.
 * command_line: a -o option, where Host, Match and Include make no sense. */
static gboolean
config_parse_line(ConfigParser *parser, ConfigFile *file, int linenum,
                  const char *text, gboolean command_line, int depth,
                  GError **error)
{
	const char *p = text + strspn(text, CONFIG_BLANKS);
	if (*p == '\0' || *p == '#')
		return TRUE;

	/* The keyword ends at a blank or '='; "Key = value" is fine too. */
	gsize keyword_len = strcspn(p, CONFIG_BLANKS "=");
	ConfigLine *line = g_new0(ConfigLine, 1);
	line->file = file->path;
	line->line = linenum;
	line->keyword = g_strndup(p, keyword_len);
	p += keyword_len;
	p += strspn(p, CONFIG_BLANKS);
	if (*p == '=')
		p += 1 + strspn(p + 1, CONFIG_BLANKS);
	line->raw = g_strchomp(g_strdup(p));
	g_ptr_array_add(file->lines, line); /* freed with file from here */

	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	if (!config_split_args(line->raw, args))
		return config_set_error(error, line->file, line->line,
		                        "%s: invalid quotes", line->keyword);
	if (args->len == 0)
		return config_set_error(error, line->file, line->line,
		                        "no argument after keyword \"%s\"",
		                        line->keyword);
	g_ptr_array_add(args, NULL);
	line->args = (char **)g_ptr_array_steal(args, NULL);

	line->op = config_lookup_keyword(line->keyword);
	switch (line->op) {
	case CONFIG_OP_MATCH:
		return config_set_error(error, line->file, line->line,
			"Match is not supported by jumpfs; use Host blocks");
	case CONFIG_OP_HOST:
	case CONFIG_OP_INCLUDE:
		if (command_line)
			return config_set_error(error, line->file, line->line,
				"%s is not allowed as a command-line option",
				line->keyword);
		for (char **arg = line->args; *arg != NULL; arg++)
			if ((*arg)[0] == '\0')
				return config_set_error(error, line->file, line->line,
					"%s: empty argument", line->keyword);
		if (line->op == CONFIG_OP_INCLUDE)
			return config_parse_include(parser, line, depth, error);
		return TRUE;
	default:
		return config_check_values(line, error);
	}
}

static ConfigFile *
config_file_new(const char *path)
{
	ConfigFile *file = g_new0(ConfigFile, 1);
	file->path = g_strdup(path);
	file->lines = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_line_free);
	return file;
}

void
config_file_free(ConfigFile *file)
{
	if (file == NULL)
		return;
	g_ptr_array_unref(file->lines);
	g_free(file->path);
	g_free(file);
}

static ConfigFile *
config_parse_file(ConfigParser *parser, const char *path, gboolean must_exist,
                  int depth, const char *from_file, int from_line,
                  GError **error)
{
	if (depth > CONFIG_MAX_DEPTH) {
		config_set_error(error, from_file, from_line,
			"Include %s: too many nested Include levels (more than %d)",
			path, CONFIG_MAX_DEPTH);
		return NULL;
	}

	char *resolved = realpath(path, NULL);
	g_autofree char *canonical = g_strdup(resolved != NULL ? resolved : path);
	free(resolved);
	for (guint i = 0; i < parser->stack->len; i++) {
		if (strcmp(parser->stack->pdata[i], canonical) == 0) {
			config_set_error(error, from_file, from_line,
				"Include loop: %s is already being read", path);
			return NULL;
		}
	}

	g_autofree char *text = NULL;
	GError *local = NULL;
	if (!g_file_get_contents(path, &text, NULL, &local)) {
		gboolean missing = g_error_matches(local, G_FILE_ERROR,
		                                   G_FILE_ERROR_NOENT);
		if (!missing || must_exist)
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			            "Can't open config file %s: %s", path,
			            local->message);
		g_error_free(local);
		return NULL;
	}

	g_autoptr(ConfigFile) file = config_file_new(path);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_ptr_array_add(parser->stack, g_steal_pointer(&canonical));
	gboolean ok = TRUE;
	for (int i = 0; ok && lines[i] != NULL; i++)
		ok = config_parse_line(parser, file, i + 1, lines[i], FALSE, depth,
		                       error);
	g_ptr_array_remove_index(parser->stack, parser->stack->len - 1);
	return ok ? g_steal_pointer(&file) : NULL;
}

ConfigFile *
config_file_read(const char *path, const ConfigParseContext *ctx,
                 gboolean must_exist, GError **error)
{
	ConfigParser parser = {
		.ctx = ctx,
		.stack = g_ptr_array_new_with_free_func(g_free),
	};
	ConfigFile *file = config_parse_file(&parser, path, must_exist, 0, NULL,
	                                     0, error);
	g_ptr_array_unref(parser.stack);
	return file;
}

GPtrArray *
config_options_parse(const char *const *options, GError **error)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_file_free);
	ConfigParseContext ctx = { 0 };
	ConfigParser parser = { .ctx = &ctx, .stack = NULL };

	for (gsize i = 0; options != NULL && options[i] != NULL; i++) {
		g_autofree char *name = g_strdup_printf("-o \"%s\"", options[i]);
		ConfigFile *file = config_file_new(name);
		g_ptr_array_add(files, file);
		if (!config_parse_line(&parser, file, 0, options[i], TRUE, 0, error))
			return NULL;
		if (file->lines->len == 0) {
			config_set_error(error, file->path, 0, "empty option");
			return NULL;
		}
	}
	return g_steal_pointer(&files);
}
