/* Text of `jumpfs status` (cli/status-text.h). Example:
 *
 * /home/u/mnt/s3  server3:  (reconnect, soft, max_conns 1; shared daemon, pid 812)
 *   hop 1/3  user1@jumphost1.whatever.org:22  up since 12:01:02  rtt 0.4 ms  in 12.3 KiB  out 8.1 KiB  logins 1  publickey
 *   hop 2/3  user2@jumphost2.whatever.org:2222  down since 12:05:00: connection lost (...)
 *   sftp channel 1: open, 0 requests in flight
 *   write-behind: 0 B queued
 */
#include "cli/status-text.h"

static const char *status_text_string(GVariant *dict, const char *key)
{
	const char *s = NULL;
	if (!g_variant_lookup(dict, key, "&s", &s))
		return NULL;
	return s;
}

/* A maybe string: NULL when absent or null. */
static const char *status_text_maybe_string(GVariant *dict, const char *key)
{
	const char *s = NULL;
	if (!g_variant_lookup(dict, key, "m&s", &s))
		return NULL;
	return s;
}

static gboolean status_text_maybe_int64(GVariant *dict, const char *key, gint64 *out)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, G_VARIANT_TYPE("mx"));
	if (v == NULL)
		return FALSE;
	g_autoptr(GVariant) inner = g_variant_get_maybe(v);
	if (inner == NULL)
		return FALSE;
	*out = g_variant_get_int64(inner);
	return TRUE;
}

static guint32 status_text_u32(GVariant *dict, const char *key, guint32 fallback)
{
	guint32 v = fallback;
	g_variant_lookup(dict, key, "u", &v);
	return v;
}

char *status_text_bytes(guint64 bytes)
{
	if (bytes < 1024)
		return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double value = (double)bytes / 1024;
	guint unit = 0;
	while (value >= 1024 && unit + 1 < G_N_ELEMENTS(units)) {
		value /= 1024;
		unit++;
	}
	return g_strdup_printf("%.1f %s", value, units[unit]);
}

static void status_text_append_bytes(GString *out, const char *label, GVariant *dict,
				     const char *key)
{
	guint64 bytes;
	if (g_variant_lookup(dict, key, "t", &bytes)) {
		g_autofree char *text = status_text_bytes(bytes);
		g_string_append_printf(out, "  %s %s", label, text);
	} else {
		g_string_append_printf(out, "  %s ?", label);
	}
}

static void status_text_append_time(GString *out, gint64 unix_us, GTimeZone *tz, gint64 now_us)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(unix_us / G_USEC_PER_SEC);
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(now_us / G_USEC_PER_SEC);
	if (when == NULL || now == NULL) {
		g_string_append(out, "?");
		return;
	}
	g_autoptr(GDateTime) local = g_date_time_to_timezone(when, tz);
	g_autoptr(GDateTime) local_now = g_date_time_to_timezone(now, tz);
	gboolean today = g_date_time_get_year(local) == g_date_time_get_year(local_now) &&
			 g_date_time_get_day_of_year(local) ==
			 g_date_time_get_day_of_year(local_now);
	g_autofree char *text = g_date_time_format(local, today ? "%H:%M:%S"
								 : "%Y-%m-%d %H:%M:%S");
	g_string_append(out, text ? text : "?");
}

static void status_text_hop(GString *out, GVariant *hop, GTimeZone *tz, gint64 now_us)
{
	const char *address = status_text_string(hop, "address");
	const char *state = status_text_string(hop, "state");
	const char *why = status_text_maybe_string(hop, "why");
	const char *auth = status_text_maybe_string(hop, "auth_method");
	gint64 since, rtt_us;
	g_string_append_printf(out, "  hop %u/%u  %s  %s", status_text_u32(hop, "hop", 0),
			       status_text_u32(hop, "hops", 0), address ? address : "?",
			       state ? state : "?");
	if (status_text_maybe_int64(hop, "since_unix_us", &since)) {
		g_string_append(out, " since ");
		status_text_append_time(out, since, tz, now_us);
	}
	gboolean up = g_strcmp0(state, "up") == 0;
	if (!up && why != NULL)
		g_string_append_printf(out, ": %s", why);
	if (up) {
		if (status_text_maybe_int64(hop, "rtt_us", &rtt_us))
			g_string_append_printf(out, "  rtt %.1f ms", (double)rtt_us / 1000);
		else
			g_string_append(out, "  rtt -");
		status_text_append_bytes(out, "in", hop, "bytes_in");
		status_text_append_bytes(out, "out", hop, "bytes_out");
		guint32 stripes = status_text_u32(hop, "stripe_sessions", 0);
		if (stripes > 0)
			g_string_append_printf(out, "  +%u stripe session%s", stripes,
					       stripes == 1 ? "" : "s");
		guint32 missed = status_text_u32(hop, "keepalives_missed", 0);
		if (missed > 0)
			g_string_append_printf(out, "  %u keepalive%s unanswered", missed,
					       missed == 1 ? "" : "s");
	}
	guint32 logins = status_text_u32(hop, "logins", 0);
	if (up || logins > 0) {
		g_string_append_printf(out, "  logins %u", logins);
		if (auth != NULL)
			g_string_append_printf(out, "  %s", auth);
	}
	g_string_append_c(out, '\n');
}

static void status_text_channel(GString *out, GVariant *channel, GTimeZone *tz, gint64 now_us)
{
	(void)tz;
	(void)now_us;
	gboolean open = FALSE, stripe = FALSE;
	g_variant_lookup(channel, "open", "b", &open);
	g_variant_lookup(channel, "stripe", "b", &stripe);
	guint32 in_flight = status_text_u32(channel, "requests_in_flight", 0);
	g_string_append_printf(out, "  sftp channel %u%s: %s, %u request%s in flight\n",
			       status_text_u32(channel, "channel", 0),
			       stripe ? " (write stripe)" : "", open ? "open" : "closed",
			       in_flight, in_flight == 1 ? "" : "s");
}

static void status_text_each(GString *out, GVariant *mount, const char *key,
			     void (*fn)(GString *, GVariant *, GTimeZone *, gint64),
			     GTimeZone *tz, gint64 now_us)
{
	g_autoptr(GVariant) list = g_variant_lookup_value(mount, key, G_VARIANT_TYPE("aa{sv}"));
	if (list == NULL)
		return;
	gsize n = g_variant_n_children(list);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) item = g_variant_get_child_value(list, i);
		fn(out, item, tz, now_us);
	}
}

static void status_text_mount(GString *out, GVariant *mount, GTimeZone *tz, gint64 now_us)
{
	const char *point = status_text_string(mount, "mount_point");
	const char *source = status_text_string(mount, "source");
	gboolean reconnect = FALSE, hard = FALSE, shared = FALSE;
	gint32 pid = 0;
	g_variant_lookup(mount, "reconnect", "b", &reconnect);
	g_variant_lookup(mount, "hard", "b", &hard);
	g_variant_lookup(mount, "shared", "b", &shared);
	g_variant_lookup(mount, "pid", "i", &pid);
	g_string_append_printf(out, "%s  %s  (%s, %s, max_conns %u; %s, pid %d)\n",
			       point ? point : "?", source ? source : "?",
			       reconnect ? "reconnect" : "noreconnect", hard ? "hard" : "soft",
			       status_text_u32(mount, "max_conns", 0),
			       shared ? "shared daemon" : "own process", pid);
	status_text_each(out, mount, "hops", status_text_hop, tz, now_us);
	status_text_each(out, mount, "channels", status_text_channel, tz, now_us);
	guint64 queued;
	g_autofree char *queued_text = g_variant_lookup(mount, "write_behind_queued_bytes", "t",
							&queued)
		? status_text_bytes(queued) : g_strdup("?");
	g_string_append_printf(out, "  write-behind: %s queued\n", queued_text);
}

char *status_text_format(GPtrArray *mounts, GTimeZone *tz, gint64 now_us)
{
	g_autoptr(GTimeZone) local = tz ? g_time_zone_ref(tz) : g_time_zone_new_local();
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < mounts->len; i++) {
		if (i > 0)
			g_string_append_c(out, '\n');
		status_text_mount(out, g_ptr_array_index(mounts, i), local, now_us);
	}
	return g_string_free(out, FALSE);
}
