/* Building, encoding and checking the status document (cli/status-data.h). */
#include "cli/status-data.h"

#include <unistd.h>

#include "chain/errors.h"
#include "fs/remote.h"

static GVariant *status_data_maybe_string(const char *s)
{
	return g_variant_new_maybe(G_VARIANT_TYPE_STRING, s ? g_variant_new_string(s) : NULL);
}

/* A count that is unknown when negative: null in JSON. */
static GVariant *status_data_maybe_int64(gint64 value, gboolean known)
{
	return g_variant_new_maybe(G_VARIANT_TYPE_INT64,
				   known ? g_variant_new_int64(value) : NULL);
}

/* Server text and addresses may hold anything: a GVariant string must be
 * UTF-8. */
static char *status_data_utf8(const char *s)
{
	return s ? g_utf8_make_valid(s, -1) : NULL;
}

static GVariant *status_data_hop(const ChainHopStats *stats, guint hop, guint hops)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_autofree char *address = status_data_utf8(stats->address);
	g_autofree char *why = status_data_utf8(stats->why);
	g_autofree char *auth = status_data_utf8(stats->auth_method);
	gboolean live = stats->state == CHAIN_HOP_UP;
	g_variant_builder_add(&b, "{sv}", "hop", g_variant_new_uint32(hop));
	g_variant_builder_add(&b, "{sv}", "hops", g_variant_new_uint32(hops));
	g_variant_builder_add(&b, "{sv}", "address", g_variant_new_string(address ? address : ""));
	g_variant_builder_add(&b, "{sv}", "state",
			      g_variant_new_string(chain_hop_state_name(stats->state)));
	g_variant_builder_add(&b, "{sv}", "since_unix_us",
			      status_data_maybe_int64(stats->since, stats->since > 0));
	g_variant_builder_add(&b, "{sv}", "why", status_data_maybe_string(why));
	g_variant_builder_add(&b, "{sv}", "why_code",
			      status_data_maybe_string(stats->why_code >= 0
				      ? jumpfs_error_code_name(stats->why_code) : NULL));
	g_variant_builder_add(&b, "{sv}", "auth_method", status_data_maybe_string(auth));
	g_variant_builder_add(&b, "{sv}", "logins", g_variant_new_uint32(stats->logins));
	g_variant_builder_add(&b, "{sv}", "stripe_sessions",
			      g_variant_new_uint32(stats->stripe_sessions));
	g_variant_builder_add(&b, "{sv}", "rtt_us",
			      status_data_maybe_int64(stats->rtt_us, live && stats->rtt_us >= 0));
	g_variant_builder_add(&b, "{sv}", "last_rx_age_us",
			      status_data_maybe_int64(stats->last_rx_age_us, live));
	g_variant_builder_add(&b, "{sv}", "bytes_in", g_variant_new_uint64(stats->bytes_in));
	g_variant_builder_add(&b, "{sv}", "bytes_out", g_variant_new_uint64(stats->bytes_out));
	g_variant_builder_add(&b, "{sv}", "channels", g_variant_new_uint32(stats->channels));
	g_variant_builder_add(&b, "{sv}", "opens_pending",
			      g_variant_new_uint32(stats->opens_pending));
	g_variant_builder_add(&b, "{sv}", "keepalives_missed",
			      g_variant_new_uint32(stats->keepalives_missed));
	return g_variant_builder_end(&b);
}

static GVariant *status_data_channels(Remote *remote)
{
	g_autoptr(GArray) stats = remote_channel_stats(remote);
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < stats->len; i++) {
		const RemoteChannelStats *s = &g_array_index(stats, RemoteChannelStats, i);
		g_variant_builder_open(&b, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&b, "{sv}", "channel", g_variant_new_uint32(i + 1));
		g_variant_builder_add(&b, "{sv}", "open", g_variant_new_boolean(s->open));
		g_variant_builder_add(&b, "{sv}", "stripe", g_variant_new_boolean(s->stripe));
		g_variant_builder_add(&b, "{sv}", "requests_in_flight",
				      g_variant_new_uint32(s->in_flight));
		g_variant_builder_close(&b);
	}
	return g_variant_builder_end(&b);
}

GVariant *status_data_mount(Mount *mount, gboolean shared)
{
	const ChainSpec *chain = mount_chain(mount);
	Remote *remote = mount_remote(mount);
	g_autoptr(GArray) hops = chain_cache_stats(mount_cache(mount), chain);
	g_autofree char *point = status_data_utf8(mount_point(mount));
	g_autofree char *source = status_data_utf8(mount_source(mount));
	g_autofree char *root = status_data_utf8(remote_root(remote));

	GVariantBuilder hb;
	g_variant_builder_init(&hb, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < hops->len; i++)
		g_variant_builder_add_value(&hb, status_data_hop(&g_array_index(hops, ChainHopStats, i),
								 i + 1, hops->len));

	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "mount_point", g_variant_new_string(point));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string(source));
	g_variant_builder_add(&b, "{sv}", "remote_root", g_variant_new_string(root));
	g_variant_builder_add(&b, "{sv}", "pid", g_variant_new_int32((gint32)getpid()));
	g_variant_builder_add(&b, "{sv}", "shared", g_variant_new_boolean(shared));
	g_variant_builder_add(&b, "{sv}", "reconnect",
			      g_variant_new_boolean(remote_reconnects(remote)));
	g_variant_builder_add(&b, "{sv}", "hard", g_variant_new_boolean(remote_is_hard(remote)));
	g_variant_builder_add(&b, "{sv}", "max_conns", g_variant_new_uint32(mount_max_conns(mount)));
	g_variant_builder_add(&b, "{sv}", "write_behind_queued_bytes",
			      g_variant_new_uint64(mount_write_queued(mount)));
	g_variant_builder_add(&b, "{sv}", "hops", g_variant_builder_end(&hb));
	g_variant_builder_add(&b, "{sv}", "channels", status_data_channels(remote));
	return g_variant_builder_end(&b);
}

GVariant *status_data_document(GPtrArray *mounts)
{
	GVariantBuilder list;
	g_variant_builder_init(&list, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < mounts->len; i++)
		g_variant_builder_add_value(&list, g_ptr_array_index(mounts, i));
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "version", g_variant_new_uint32(STATUS_DATA_VERSION));
	g_variant_builder_add(&b, "{sv}", "mounts", g_variant_builder_end(&list));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

char *status_data_encode(GVariant *document)
{
	return g_base64_encode(g_variant_get_data(document), g_variant_get_size(document));
}

GVariant *status_data_decode(const char *text, GError **error)
{
	gsize len = 0;
	guchar *bytes = g_base64_decode(text, &len);
	GVariant *document = g_variant_new_from_data(G_VARIANT_TYPE_VARDICT, bytes, len, FALSE,
						     g_free, bytes);
	g_variant_ref_sink(document);
	/* From this user's own daemon, but a daemon of another version (or
	 * a bug) must not crash the client: a non-normal serialisation is
	 * refused, and every field is looked up with its type. */
	guint32 version = 0;
	if (!g_variant_is_normal_form(document) ||
	    !g_variant_lookup(document, "version", "u", &version) ||
	    version != STATUS_DATA_VERSION) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "not a status document of this jumpfs (version %u)", version);
		g_variant_unref(document);
		return NULL;
	}
	return document;
}

GPtrArray *status_data_mounts(GVariant *document)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	g_autoptr(GVariant) mounts = g_variant_lookup_value(document, "mounts",
							    G_VARIANT_TYPE("aa{sv}"));
	if (mounts == NULL)
		return out;
	gsize n = g_variant_n_children(mounts);
	for (gsize i = 0; i < n; i++)
		g_ptr_array_add(out, g_variant_get_child_value(mounts, i));
	return out;
}
