/* The client side of `jumpfs status` (cli/status.h). It connects to each
 * control socket in the user's private directory, asks, and waits a short
 * while for the answer: a daemon answers from counters, so a slow one is
 * reported and skipped rather than waited for. */
#include "cli/status.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/errors.h"
#include "cli/control.h"
#include "cli/json.h"
#include "cli/status-data.h"
#include "cli/status-text.h"

/* How long one process has to answer: it only copies counters. */
#define STATUS_ANSWER_TIMEOUT_US (2 * G_TIME_SPAN_SECOND)

gboolean status_requested(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "status") == 0;
}

static int status_usage(FILE *to, int status)
{
	fprintf(to, "usage: jumpfs status [--json] [MOUNTPOINT]\n"
		"Shows the user's jumpfs mounts: each hop's state, round trip, bytes\n"
		"and logins, and the SFTP channels. --json: one JSON document\n"
		"(fields in docs/status.md).\n");
	return status;
}

/* The mount point as the daemon knows it (libfuse's realpath): the
 * parent directory resolved, the last name as given, so that the mount
 * itself is never touched (its chain may be down). */
static char *status_mount_point_key(const char *arg)
{
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *absolute = g_canonicalize_filename(arg, cwd);
	if (strcmp(absolute, "/") == 0)
		return g_steal_pointer(&absolute);
	g_autofree char *dir = g_path_get_dirname(absolute);
	g_autofree char *base = g_path_get_basename(absolute);
	char *real = realpath(dir, NULL);
	if (real == NULL)
		return g_steal_pointer(&absolute);
	char *key = g_build_filename(real, base, NULL);
	free(real);
	return key;
}

/* A "mount-PID" socket that nobody listens on, of a process that is gone:
 * nobody else would ever take that name, so it is removed. */
static void status_remove_stale(const char *dir, const char *name)
{
	const char *digits = name + strlen("mount-");
	char *end = NULL;
	long pid = strtol(digits, &end, 10);
	if (end == digits || *end != '\0' || pid <= 0)
		return;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	g_autofree char *path = g_build_filename(dir, name, NULL);
	unlink(path);
}

/* One process's document, or NULL: nobody listens (silently), or it did
 * not answer properly (*error). */
static GVariant *status_ask(const char *dir, const char *name, const char *filter,
			    GError **error)
{
	gboolean stale = FALSE;
	int fd = control_connect(name, &stale);
	if (fd < 0) {
		if (stale && g_str_has_prefix(name, "mount-"))
			status_remove_stale(dir, name);
		return NULL;
	}
	const char *strings[] = { filter };
	GVariant *document = NULL;
	ControlMessage *answer = NULL;
	if (!control_send(fd, CONTROL_STATUS, strings, filter ? 1 : 0, NULL, 0)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED, "it hung up");
	} else if ((answer = control_recv(fd, g_get_monotonic_time() + STATUS_ANSWER_TIMEOUT_US,
					  -1, error)) == NULL) {
		/* *error says why */
	} else if (answer->type != CONTROL_DOCUMENT || answer->strings->len != 1) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "it does not answer status (an older jumpfs?)");
	} else {
		document = status_data_decode(g_ptr_array_index(answer->strings, 0), error);
	}
	control_message_free(answer);
	close(fd);
	return document;
}

static gint status_by_name(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* The control sockets of this user, in name order ("control", then
 * "mount-PID"). */
static GPtrArray *status_socket_names(const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d != NULL && (name = g_dir_read_name(d)) != NULL)
		if (strcmp(name, "control") == 0 || g_str_has_prefix(name, "mount-"))
			g_ptr_array_add(names, g_strdup(name));
	if (d != NULL)
		g_dir_close(d);
	g_ptr_array_sort(names, status_by_name);
	return names;
}

static gint status_by_mount_point(gconstpointer a, gconstpointer b)
{
	const char *pa = NULL, *pb = NULL;
	g_variant_lookup(*(GVariant *const *)a, "mount_point", "&s", &pa);
	g_variant_lookup(*(GVariant *const *)b, "mount_point", "&s", &pb);
	return g_strcmp0(pa, pb);
}

int status_main(int argc, char **argv)
{
	gboolean json = FALSE;
	const char *mount_point = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = TRUE;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return status_usage(stdout, 0);
		else if (argv[i][0] == '-' || mount_point != NULL)
			return status_usage(stderr, 2);
		else
			mount_point = argv[i];
	}
	g_autofree char *filter = mount_point ? status_mount_point_key(mount_point) : NULL;
	g_autofree char *dir = control_dir();
	g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	if (dir != NULL) {
		g_autoptr(GPtrArray) names = status_socket_names(dir);
		for (guint i = 0; i < names->len; i++) {
			const char *name = g_ptr_array_index(names, i);
			GError *error = NULL;
			g_autoptr(GVariant) document = status_ask(dir, name, filter, &error);
			if (error != NULL) {
				g_printerr("jumpfs status: %s/%s: %s\n", dir, name, error->message);
				g_error_free(error);
			}
			if (document == NULL)
				continue;
			g_autoptr(GPtrArray) some = status_data_mounts(document);
			for (guint j = 0; j < some->len; j++)
				g_ptr_array_add(mounts, g_variant_ref(g_ptr_array_index(some, j)));
		}
	}
	g_ptr_array_sort(mounts, status_by_mount_point);

	if (json) {
		g_autoptr(GVariant) document = status_data_document(mounts);
		GString *out = g_string_new(NULL);
		json_append_variant(out, document, 2);
		g_string_append_c(out, '\n');
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else if (mounts->len > 0) {
		g_autofree char *text = status_text_format(mounts, NULL, g_get_real_time());
		fputs(text, stdout);
	} else if (filter == NULL) {
		puts("no jumpfs mounts");
	}
	if (filter != NULL && mounts->len == 0) {
		g_printerr("jumpfs status: %s is not a jumpfs mount of yours\n", filter);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
