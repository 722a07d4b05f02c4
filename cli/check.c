/* A diagnosis a person can read: each hop's address, host key, how it
 * authenticated and how long it took; where the chain breaks, the one
 * line that says why. */
#include "cli/check.h"

#include <stdio.h>

#include "chain/cache.h"
#include "chain/errors.h"
#include "fs/sftp.h"

static const char *check_hint(const GError *error)
{
	if (error->domain != JUMPFS_ERROR)
		return NULL;
	switch (error->code) {
	case JUMPFS_ERROR_UNKNOWN_HOST:
		return "check the host name, or its HostName line in ssh_config";
	case JUMPFS_ERROR_REFUSED:
		return "nothing listens on that port: is sshd running there, is the Port right?";
	case JUMPFS_ERROR_TIMEOUT:
		return "no answer: the host is down or a firewall drops the connection";
	case JUMPFS_ERROR_AUTH:
		return "is your public key in that user's authorized_keys? "
		       "Is the right IdentityFile set for this host?";
	case JUMPFS_ERROR_HOSTKEY_UNKNOWN:
		return "verify the fingerprint out of band before trusting it";
	default:
		return NULL;
	}
}

static void check_print_hop(const HopSpec *spec, guint index, guint total,
			    const HopReport *report)
{
	printf("hop %u/%u  %s@%s:%d", index + 1, total, spec->user, spec->hostname, spec->port);
	if (g_strcmp0(spec->alias, spec->hostname) != 0)
		printf("  (%s)", spec->alias);
	printf("\n");
	if (report->host_key.fingerprint != NULL)
		printf("    host key  %s %s  [%s]\n", report->host_key.key_type,
		       report->host_key.fingerprint, report->host_key.status);
	if (report->auth_method != NULL)
		printf("    auth      %s\n", report->auth_method);
	if (report->connect_us > 0)
		printf("    time      %.1f ms to connect, %.1f ms to authenticate\n",
		       report->connect_us / 1000.0, report->auth_us / 1000.0);
}

static int check_sftp(ChainCache *cache, const ChainSpec *chain)
{
	GError *error = NULL;
	int fd = chain_cache_open_sftp(cache, chain, &error);
	SftpConn *conn = fd >= 0 ? sftpc_start(fd, &error) : NULL;
	if (conn == NULL) {
		printf("sftp      FAILED: %s\n", error->message);
		g_error_free(error);
		return 1;
	}
	printf("sftp      version %u\n", sftpc_version(conn));
	GPtrArray *extensions = sftpc_extensions(conn);
	for (guint i = 0; extensions != NULL && i < extensions->len; i++)
		printf("    extension %s\n", (const char *)g_ptr_array_index(extensions, i));
	sftpc_unref(conn);
	return 0;
}

int check_chain(const ChainSpec *chain)
{
	guint total = chain->hops->len;
	ChainCache *cache = chain_cache_new();
	HopReport *reports = g_new0(HopReport, total);
	int status = 0;

	for (guint depth = 1; depth <= total && status == 0; depth++) {
		GError *error = NULL;
		Hop *hop = chain_cache_get(cache, chain, depth, reports, &error);
		check_print_hop(g_ptr_array_index(chain->hops, depth - 1), depth - 1,
				total, &reports[depth - 1]);
		if (hop == NULL) {
			printf("    FAILED    %s\n", error->message);
			const char *hint = check_hint(error);
			if (hint != NULL)
				printf("    hint      %s\n", hint);
			g_error_free(error);
			status = 1;
			break;
		}
		hop_unref(hop);
	}
	if (status == 0)
		status = check_sftp(cache, chain);
	printf(status == 0 ? "chain OK\n" : "chain BROKEN\n");

	for (guint i = 0; i < total; i++)
		hop_report_clear(&reports[i]);
	g_free(reports);
	chain_cache_free(cache);
	return status;
}
