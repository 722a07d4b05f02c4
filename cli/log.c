#include "cli/log.h"

#include <fuse.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Set once by log_to_syslog while pump threads may be logging: atomic. */
static gint log_use_syslog;
static gboolean log_debug;

static int log_priority(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return LOG_ERR;
	if (level & G_LOG_LEVEL_WARNING)
		return LOG_WARNING;
	if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
		return LOG_INFO;
	return LOG_DEBUG;
}

static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields,
				   gsize n_fields, gpointer user_data)
{
	(void)user_data;
	if ((level & G_LOG_LEVEL_DEBUG) && !log_debug)
		return G_LOG_WRITER_HANDLED;
	/* Routine news ("mounted ...") is for the system log and -d, not
	 * for the terminal of someone who just typed a mount command. */
	if ((level & G_LOG_LEVEL_INFO) && !log_debug && !g_atomic_int_get(&log_use_syslog))
		return G_LOG_WRITER_HANDLED;
	const char *message = NULL;
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
	}
	if (message == NULL)
		return G_LOG_WRITER_UNHANDLED;
	if (g_atomic_int_get(&log_use_syslog)) {
		syslog(log_priority(level), "%s", message);
		return G_LOG_WRITER_HANDLED;
	}
	const char *prefix = (level & G_LOG_LEVEL_DEBUG) ? "debug: "
			   : (level & G_LOG_LEVEL_CRITICAL) ? "error: "
			   : (level & G_LOG_LEVEL_WARNING) ? "warning: " : "";
	fprintf(stderr, "jumpfs: %s%s\n", prefix, message);
	return G_LOG_WRITER_HANDLED;
}

/* A thread that checks FUSE options with a dry run (cli/options.c) takes
 * FUSE's error messages for itself instead of the log. Per thread: in the
 * shared daemon, one request's dry run must not swallow the messages of
 * mounts running meanwhile, and libfuse has only one, process-wide,
 * logger. */
static GPrivate log_fuse_capture = G_PRIVATE_INIT(NULL);

void log_fuse_capture_begin(void)
{
	GString *old = g_private_get(&log_fuse_capture);
	if (old != NULL)
		g_string_free(old, TRUE);
	g_private_set(&log_fuse_capture, g_string_new(NULL));
}

char *log_fuse_capture_end(void)
{
	GString *captured = g_private_get(&log_fuse_capture);
	g_private_set(&log_fuse_capture, NULL);
	return captured ? g_string_free(captured, FALSE) : g_strdup("");
}

/* libfuse logs in pieces ("unknown option(s): `" ... "'\n"): collect up
 * to the newline, then hand the line to GLib like our own messages. */
static GMutex log_fuse_lock;
static GString *log_fuse_line;

static void log_fuse(enum fuse_log_level level, const char *format, va_list ap)
{
	GString *captured = g_private_get(&log_fuse_capture);
	if (captured != NULL) {
		if (level <= FUSE_LOG_ERR)
			g_string_append_vprintf(captured, format, ap);
		return;
	}
	g_mutex_lock(&log_fuse_lock);
	if (log_fuse_line == NULL)
		log_fuse_line = g_string_new(NULL);
	g_string_append_vprintf(log_fuse_line, format, ap);
	char *newline;
	while ((newline = strchr(log_fuse_line->str, '\n')) != NULL) {
		*newline = '\0';
		const char *text = g_str_has_prefix(log_fuse_line->str, "fuse: ")
				   ? log_fuse_line->str + 6 : log_fuse_line->str;
		GLogLevelFlags glevel = level <= FUSE_LOG_ERR ? G_LOG_LEVEL_CRITICAL
				      : level == FUSE_LOG_WARNING ? G_LOG_LEVEL_WARNING
				      : level <= FUSE_LOG_INFO ? G_LOG_LEVEL_MESSAGE
				      : G_LOG_LEVEL_DEBUG;
		if (*text != '\0')
			g_log("fuse", glevel, "fuse: %s", text);
		g_string_erase(log_fuse_line, 0, newline - log_fuse_line->str + 1);
	}
	g_mutex_unlock(&log_fuse_lock);
}

void log_setup(void)
{
	g_log_set_writer_func(log_writer, NULL, NULL);
	/* Installed once, before anything can call fuse_log, and never
	 * replaced: see log_fuse_capture_begin. */
	fuse_set_log_func(log_fuse);
}

void log_set_debug(gboolean debug)
{
	log_debug = debug;
}

void log_to_syslog(void)
{
	openlog("jumpfs", LOG_PID, LOG_DAEMON);
	g_atomic_int_set(&log_use_syslog, TRUE);
}

void log_failure_unattended(const char *message)
{
	if (g_atomic_int_get(&log_use_syslog) || isatty(STDERR_FILENO))
		return;
	openlog("jumpfs", LOG_PID, LOG_DAEMON);
	syslog(LOG_ERR, "%s", message);
}
