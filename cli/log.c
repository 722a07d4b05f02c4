#include "cli/log.h"

#include <stdio.h>
#include <syslog.h>

static gboolean log_use_syslog;
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
	const char *message = NULL;
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
	}
	if (message == NULL)
		return G_LOG_WRITER_UNHANDLED;
	if (log_use_syslog) {
		syslog(log_priority(level), "%s", message);
		return G_LOG_WRITER_HANDLED;
	}
	const char *prefix = (level & G_LOG_LEVEL_DEBUG) ? "debug: "
			   : (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL)) ? "warning: " : "";
	fprintf(stderr, "jumpfs: %s%s\n", prefix, message);
	return G_LOG_WRITER_HANDLED;
}

void log_setup(gboolean debug)
{
	log_debug = debug;
	g_log_set_writer_func(log_writer, NULL, NULL);
}

void log_to_syslog(void)
{
	openlog("jumpfs", LOG_PID, LOG_DAEMON);
	log_use_syslog = TRUE;
}
