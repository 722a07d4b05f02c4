/* Running KnownHostsCommand. See knownhosts-command.h. */
#include "chain/knownhosts-command.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/config-tokens.h"
#include "chain/errors.h"

#define COMMAND_DEFAULT_TIMEOUT_S 30
#define COMMAND_MAX_OUTPUT (16 << 20)

char **knownhosts_command_split(const char *s)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	gsize i = 0;
	while (s[i] != '\0') {
		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		GString *arg = g_string_new(NULL);
		char quote = 0;
		for (; s[i] != '\0'; i++) {
			if (s[i] == '\\') {
				char next = s[i + 1];
				if (next == '\'' || next == '"' || next == '\\' ||
				    (quote == 0 && next == ' '))
					i++;
				g_string_append_c(arg, s[i]);
			} else if (quote == 0 && (s[i] == ' ' || s[i] == '\t')) {
				break;
			} else if (quote == 0 && (s[i] == '"' || s[i] == '\'')) {
				quote = s[i];
			} else if (quote != 0 && s[i] == quote) {
				quote = 0;
			} else {
				g_string_append_c(arg, s[i]);
			}
		}
		g_ptr_array_add(argv, g_string_free(arg, FALSE));
		if (quote != 0) {
			g_ptr_array_unref(argv);
			return NULL;
		}
	}
	g_ptr_array_add(argv, NULL);
	return (char **)g_ptr_array_free(argv, FALSE);
}

/* The words after the first, expanded for this hop. */
static char **knownhosts_command_argv(const HopSpec *spec, const char *label,
				      const char *invocation, const char *name,
				      const KnownHostsKey *key, GError **error)
{
	g_auto(GStrv) words = knownhosts_command_split(spec->known_hosts_command);
	if (words == NULL || words[0] == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: KnownHostsCommand \"%s\" %s", label, spec->known_hosts_command,
			    words == NULL ? "contains invalid quotes" : "yielded no arguments");
		return NULL;
	}
	g_autofree char *fingerprint = key ? knownhosts_key_fingerprint(key) : NULL;
	g_autofree char *text = key ? knownhosts_key_to_text(key) : NULL;
	const char *base64 = text ? strchr(text, ' ') + 1 : "NONE";
	const ConfigToken extra[] = {
		{ 'H', name },
		{ 'I', invocation },
		{ 't', key ? knownhosts_key_name(key) : "NONE" },
		{ 'f', fingerprint ? fingerprint : "NONE" },
		{ 'K', base64 },
		{ 0, NULL },
	};
	g_auto(GStrv) environment = g_get_environ();
	guint n = g_strv_length(words);
	char **argv = g_new0(char *, n + 1);
	argv[0] = g_strdup(words[0]);
	for (guint i = 1; i < n; i++) {
		GError *local = NULL;
		argv[i] = config_expand_tokens(words[i], spec, extra,
					       (const char *const *)environment,
					       "KnownHostsCommand", &local);
		if (argv[i] == NULL) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG, "%s: %s", label,
				    local->message);
			g_error_free(local);
			g_strfreev(argv);
			return NULL;
		}
	}
	return argv;
}

/* Reads fd to the end, or until the deadline or the size limit. */
static gboolean knownhosts_command_drain(int fd, gint64 deadline, GString *out,
					 const char **why)
{
	char buf[65536];
	for (;;) {
		gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
		if (left_ms <= 0) {
			*why = "timed out";
			return FALSE;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)MIN(left_ms, G_MAXINT));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = g_strerror(errno);
			return FALSE;
		}
		if (n == 0)
			continue;
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			*why = g_strerror(errno);
			return FALSE;
		}
		if (got == 0)
			return TRUE;
		if (out->len + (gsize)got > COMMAND_MAX_OUTPUT) {
			*why = "wrote more than 16 MiB";
			return FALSE;
		}
		g_string_append_len(out, buf, got);
	}
}

gboolean knownhosts_command_read(const HopSpec *spec, const char *label,
				 const char *invocation, const char *name,
				 const KnownHostsKey *key, KnownHostsMatch *match,
				 GError **error)
{
	g_auto(GStrv) argv = knownhosts_command_argv(spec, label, invocation, name, key, error);
	if (argv == NULL)
		return FALSE;
	if (!g_path_is_absolute(argv[0]) || access(argv[0], F_OK) != 0) {
		g_warning("%s: KnownHostsCommand %s: %s; not run (as ssh)", label, argv[0],
			  g_path_is_absolute(argv[0]) ? g_strerror(errno)
						      : "the path is not absolute");
		return TRUE;
	}
	GPid pid;
	int in_fd = -1, out_fd = -1;
	GError *spawn_error = NULL;
	if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				      &pid, &in_fd, &out_fd, NULL, &spawn_error)) {
		g_warning("%s: KnownHostsCommand %s: %s; not run (as ssh)", label, argv[0],
			  spawn_error->message);
		g_error_free(spawn_error);
		return TRUE;
	}
	close(in_fd); /* stdin: nothing to read */
	int timeout = spec->connect_timeout > 0 ? spec->connect_timeout : COMMAND_DEFAULT_TIMEOUT_S;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;
	g_autoptr(GString) out = g_string_new(NULL);
	const char *why = NULL;
	gboolean read_all = knownhosts_command_drain(out_fd, deadline, out, &why);
	close(out_fd);
	if (!read_all)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	g_spawn_close_pid(pid);
	if (read_all && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		g_autofree char *how = WIFEXITED(status)
			? g_strdup_printf("exited with status %d", WEXITSTATUS(status))
			: g_strdup_printf("was killed by signal %d", WTERMSIG(status));
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: KnownHostsCommand %s %s (ssh gives up then too)", label,
			    argv[0], how);
		return FALSE;
	}
	if (!read_all) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: KnownHostsCommand %s %s", label, argv[0], why);
		return FALSE;
	}
	knownhosts_file_read_text(match, "KnownHostsCommand", out->str, out->len, TRUE);
	return TRUE;
}
