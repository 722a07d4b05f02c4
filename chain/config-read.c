/* Reading ssh_config files into line records: tokenizing, the value
 * checks of the keyword table, Match syntax, Include and file
 * permissions, as readconf.c read_config_file_depth() does. */
#include "chain/config-read.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/config-util.h"
#include "chain/errors.h"

#define CONFIG_WHITESPACE " \t\r\n"
/* OpenSSH reads any size; this bounds memory on a hostile file. */
#define CONFIG_MAX_FILE_SIZE (4 * 1024 * 1024)

/* Files being read, innermost last: Include loops and depth. */
typedef struct {
	const ConfigParseContext *ctx;
	GPtrArray *stack; /* char *, canonical paths */
} ConfigParser;

static ConfigFile *config_parse_file(ConfigParser *parser, const char *path,
                                     gboolean must_exist, gboolean check_perm,
                                     int depth, const char *from_file,
                                     int from_line, GError **error);

static void
config_line_free(ConfigLine *line)
{
	g_free(line->name);
	g_strfreev(line->args);
	g_free(line->raw);
	config_value_clear(&line->value);
	config_match_free(line->match);
	if (line->includes != NULL)
		g_ptr_array_unref(line->includes);
	g_free(line);
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

static gboolean
config_parse_include(ConfigParser *parser, ConfigLine *line, int depth,
                     GError **error)
{
	const ConfigParseContext *ctx = parser->ctx;

	line->includes = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_file_free);
	for (char **arg = line->args; *arg != NULL; arg++) {
		g_autofree char *pattern = NULL;

		if ((*arg)[0] == '\0')
			return config_set_error(error, line->file, line->line,
				"keyword include empty argument");
		/* Anchor every path: ~ only in user files, relative paths in
		 * ~/.ssh or the system file's directory. */
		if ((*arg)[0] == '~') {
			if (!ctx->user_config)
				return config_set_error(error, line->file, line->line,
					"bad include path %s.", *arg);
			pattern = config_tilde_expand(*arg, ctx->home_dir,
			                              ctx->local_user);
			if (pattern == NULL)
				return config_set_error(error, line->file, line->line,
					"bad include path %s: unknown user.", *arg);
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
			continue; /* an Include matching nothing is fine */
		}
		if (r != 0) {
			globfree(&matches);
			return config_set_error(error, line->file, line->line,
				"glob failed for %s.", pattern);
		}
		for (size_t i = 0; i < matches.gl_pathc; i++) {
			GError *local = NULL;
			ConfigFile *file = config_parse_file(parser,
				matches.gl_pathv[i], FALSE, TRUE, depth + 1, line->file,
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

/* parse_jump()'s syntax check: the comment cut, every element valid. */
static gboolean
config_check_jump(ConfigLine *line, GError **error)
{
	g_autofree char *list = g_strdup(line->raw);
	char *hash = strchr(list, '#');
	if (hash != NULL)
		*hash = '\0';
	g_strchomp(list);
	if (g_ascii_strcasecmp(line->raw, "none") == 0)
		return TRUE;
	g_auto(GStrv) elements = g_strsplit(list, ",", -1);
	for (char **e = elements; *e != NULL; e++) {
		g_autofree char *user = NULL, *host = NULL;
		int port;
		if (!config_parse_jump_element(*e, &user, &host, &port))
			return config_set_error(error, line->file, line->line,
				"Invalid ProxyJump \"%s\"", line->raw);
	}
	return TRUE;
}

/* Parses one line into file->lines; blank and comment lines add nothing.
 * command_line: a -o option, where Host, Match and Include make no sense. */
static gboolean
config_parse_line(ConfigParser *parser, ConfigFile *file, int linenum,
                  const char *text, gboolean command_line, int depth,
                  GError **error)
{
	g_autofree char *copy = g_strdup(text);
	/* Trailing blanks go, and a form feed at the end of the line. */
	gsize len = strlen(copy);
	while (len > 0 && strchr(CONFIG_WHITESPACE "\f", copy[len - 1]) != NULL)
		copy[--len] = '\0';

	char *rest = copy;
	char *keyword = config_strdelim(&rest);
	if (keyword != NULL && *keyword == '\0')
		keyword = config_strdelim(&rest);
	if (keyword == NULL || *keyword == '\0' || *keyword == '#')
		return TRUE;
	if (rest != NULL)
		rest += strspn(rest, CONFIG_WHITESPACE);

	ConfigLine *line = g_new0(ConfigLine, 1);
	line->file = file->path;
	line->line = linenum;
	line->user_file = command_line || parser->ctx->user_config;
	line->name = config_lowercase(keyword);
	g_ptr_array_add(file->lines, line); /* freed with file from here */
	if (rest == NULL || *rest == '\0')
		return config_set_error(error, line->file, line->line,
			"no argument after keyword \"%s\"", line->name);
	line->raw = g_strdup(rest);
	line->keyword = config_keyword_lookup(line->name);
	line->args = config_split_words(rest);
	if (line->args == NULL)
		return config_set_error(error, line->file, line->line,
		                        "invalid quotes");
	if (line->args[0] == NULL) {
		/* Only a comment after the keyword: readconf.c finds no word. */
		g_strfreev(line->args);
		line->args = g_new0(char *, 2);
		line->args[0] = g_strdup("");
	}
	if (line->keyword == NULL)
		return TRUE; /* IgnoreUnknown decides, when evaluated */

	switch (line->keyword->kw) {
	case CONFIG_KW_HOST:
	case CONFIG_KW_MATCH:
	case CONFIG_KW_INCLUDE:
		if (command_line)
			return config_set_error(error, line->file, line->line,
				"%s directive not supported as a command-line option",
				line->keyword->kw == CONFIG_KW_INCLUDE ? "Include" : "Host");
		if (line->keyword->kw == CONFIG_KW_INCLUDE)
			return config_parse_include(parser, line, depth, error);
		if (line->keyword->kw == CONFIG_KW_MATCH) {
			line->match = config_match_parse(rest, line->file, line->line,
			                                 error);
			return line->match != NULL;
		}
		for (char **arg = line->args; *arg != NULL; arg++)
			if ((*arg)[0] == '\0')
				return config_set_error(error, line->file, line->line,
					"keyword host empty argument");
		return TRUE;
	case CONFIG_KW_PROXY_JUMP:
		return config_check_jump(line, error);
	default:
		return config_keyword_parse(line->keyword, line->args, line->raw,
		                            line->file, line->line,
		                            parser->ctx->environment, &line->value,
		                            error);
	}
}

/* Debian's secure_permissions() (user-group-modes patch): a group-
 * writable file is fine if its group has exactly one member, the owner. */
static gboolean
config_private_group(const struct stat *st)
{
	struct group *gr = getgrgid(st->st_gid);
	struct passwd *owner = getpwuid(st->st_uid);
	int members = 0;

	if (gr == NULL || owner == NULL)
		return FALSE;
	setpwent();
	for (struct passwd *pw; (pw = getpwent()) != NULL;) {
		if (pw->pw_gid != gr->gr_gid)
			continue;
		members++;
		if (pw->pw_uid != getuid()) {
			endpwent();
			return FALSE;
		}
	}
	endpwent();
	if (gr->gr_mem[0] != NULL) {
		members++;
		if (strcmp(owner->pw_name, gr->gr_mem[0]) != 0 || gr->gr_mem[1] != NULL)
			return FALSE;
	}
	return members > 0;
}

/* OpenSSH's SSHCONF_CHECKPERM: owned by root or the user, and writable by
 * nobody else. */
static gboolean
config_check_perm(int fd, const char *path, GError **error)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return config_set_error(error, NULL, 0, "fstat %s: %s", path,
		                        g_strerror(errno));
	if ((st.st_uid != 0 && st.st_uid != getuid()) || (st.st_mode & 002) != 0 ||
	    ((st.st_mode & 020) != 0 && !config_private_group(&st)))
		return config_set_error(error, NULL, 0,
			"Bad owner or permissions on %s", path);
	return TRUE;
}

/* The whole file, or NULL: *missing says it did not exist. */
static char *
config_read_text(const char *path, gboolean check_perm, gboolean *missing,
                 GError **error)
{
	*missing = FALSE;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*missing = errno == ENOENT;
		if (!*missing)
			config_set_error(error, NULL, 0,
				"Can't open user config file %s: %s", path,
				g_strerror(errno));
		return NULL;
	}
	struct stat st;
	GString *text = NULL;
	if (check_perm && !config_check_perm(fd, path, error))
		goto out;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		config_set_error(error, NULL, 0, "Can't open user config file %s: %s",
		                 path, g_strerror(EISDIR));
		goto out;
	}
	text = g_string_new(NULL);
	char buffer[8192];
	for (;;) {
		ssize_t n = read(fd, buffer, sizeof buffer);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			config_set_error(error, NULL, 0, "read %s: %s", path,
			                 g_strerror(errno));
			g_string_free(g_steal_pointer(&text), TRUE);
			goto out;
		}
		if (n == 0)
			break;
		g_string_append_len(text, buffer, n);
		if (text->len > CONFIG_MAX_FILE_SIZE) {
			config_set_error(error, NULL, 0, "%s: larger than %d bytes", path,
			                 CONFIG_MAX_FILE_SIZE);
			g_string_free(g_steal_pointer(&text), TRUE);
			goto out;
		}
	}
out:
	close(fd);
	return text != NULL ? g_string_free(text, FALSE) : NULL;
}

static gboolean
config_parse_lines(ConfigParser *parser, ConfigFile *file, const char *text,
                   int depth, GError **error)
{
	/* getline() semantics: a NUL ends what OpenSSH sees of a line. */
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i] != NULL; i++)
		if (!config_parse_line(parser, file, i + 1, lines[i], FALSE, depth,
		                       error))
			return FALSE;
	return TRUE;
}

static ConfigFile *
config_parse_file(ConfigParser *parser, const char *path, gboolean must_exist,
                  gboolean check_perm, int depth, const char *from_file,
                  int from_line, GError **error)
{
	if (depth > CONFIG_MAX_DEPTH) {
		config_set_error(error, from_file, from_line,
			"Too many recursive configuration includes (%s)", path);
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

	gboolean missing;
	g_autofree char *text = config_read_text(path, check_perm, &missing,
	                                         error);
	if (text == NULL) {
		if (missing && must_exist)
			config_set_error(error, NULL, 0,
				"Can't open user config file %s: %s", path,
				g_strerror(ENOENT));
		return NULL;
	}

	g_autoptr(ConfigFile) file = config_file_new(path);
	g_ptr_array_add(parser->stack, g_steal_pointer(&canonical));
	gboolean ok = config_parse_lines(parser, file, text, depth, error);
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
	ConfigFile *file = config_parse_file(&parser, path, must_exist,
	                                     ctx->check_perm, 0, NULL, 0, error);
	g_ptr_array_unref(parser.stack);
	return file;
}

ConfigFile *
config_file_parse_text(const char *name, const char *text,
                       const ConfigParseContext *ctx, GError **error)
{
	ConfigParser parser = {
		.ctx = ctx,
		.stack = g_ptr_array_new_with_free_func(g_free),
	};
	ConfigFile *file = config_file_new(name);
	if (!config_parse_lines(&parser, file, text, 0, error))
		g_clear_pointer(&file, config_file_free);
	g_ptr_array_unref(parser.stack);
	return file;
}

GPtrArray *
config_options_parse(const char *const *options,
                     const char *const *environment, GError **error)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_file_free);
	ConfigParseContext ctx = { .environment = environment };
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
