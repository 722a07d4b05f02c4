/* A diagnosis a person can read: each hop's address, host key, how it
 * authenticated and how long it took; where the chain breaks, the one
 * line that says why. */
#include "cli/check.h"

#include <stdio.h>

#include "chain/cache.h"
#include "chain/errors.h"
#include "fs/sftp.h"

/* The hint names the hop to look at. For depth > 1 a network error came
 * from the hop before, which opened the forward: it resolved the name,
 * it connected, it refused to forward. */
static char *check_hint(const GError *error, const ChainSpec *chain, guint depth)
{
	if (error->domain != JUMPFS_ERROR)
		return NULL;
	const HopSpec *hop = g_ptr_array_index(chain->hops, depth - 1);
	const HopSpec *via = depth > 1 ? g_ptr_array_index(chain->hops, depth - 2) : NULL;
	g_autofree char *via_name = via ? g_strdup_printf("%s (hop %u/%u)", via->alias, depth - 1,
							  chain->hops->len) : NULL;
	switch (error->code) {
	case JUMPFS_ERROR_UNKNOWN_HOST:
		if (via != NULL)
			return g_strdup_printf("%s looks %s up itself, with its own DNS and "
					       "/etc/hosts: check the name, or give an address "
					       "in HostName", via_name, hop->hostname);
		return g_strdup_printf("check the host name %s, or its HostName line in "
				       "ssh_config", hop->hostname);
	case JUMPFS_ERROR_REFUSED:
		if (via != NULL)
			return g_strdup_printf("%s reached %s, but nothing listens on port %d "
					       "there: is sshd running on %s, is the Port right?",
					       via_name, hop->hostname, hop->port, hop->alias);
		return g_strdup_printf("nothing listens on %s port %d: is sshd running there, "
				       "is the Port right?", hop->hostname, hop->port);
	case JUMPFS_ERROR_TIMEOUT:
		return g_strdup_printf("no answer from %s%s%s: the host is down or a firewall "
				       "drops the connection", hop->hostname,
				       via ? " as seen from " : "", via ? via_name : "");
	case JUMPFS_ERROR_UNREACHABLE:
		return g_strdup_printf("no route to %s from %s", hop->hostname,
				       via ? via_name : "this machine");
	case JUMPFS_ERROR_FORWARD_PROHIBITED:
		if (via != NULL)
			return g_strdup_printf("%s refused forwarding: AllowTcpForwarding is off "
					       "there (or PermitOpen excludes %s:%d); ask its "
					       "admin, or jump through another host",
					       via_name, hop->hostname, hop->port);
		return NULL;
	case JUMPFS_ERROR_CHANNEL_DENIED:
		if (via != NULL)
			/* sshd says only "open failed" when the name does not
			 * resolve there or the connect fails. */
			return g_strdup_printf("%s could not reach %s:%d: the name may not resolve "
					       "there, or nothing answers on that port; its sshd "
					       "log says which", via_name, hop->hostname, hop->port);
		return NULL;
	case JUMPFS_ERROR_HOSTKEY_CHANGED:
		return g_strdup_printf("do not connect until you know why: if %s was "
				       "reinstalled or its key rotated, confirm the new "
				       "fingerprint with its admin, then remove the old entry "
				       "with ssh-keygen -R", hop->alias);
	case JUMPFS_ERROR_HOSTKEY_REVOKED:
		return g_strdup_printf("do not connect: this key was revoked; ask %s's admin "
				       "what happened to its host key", hop->alias);
	case JUMPFS_ERROR_HOSTKEY_CERT_ONLY:
		return g_strdup_printf("jumpfs (libssh 0.10) cannot use host certificates: "
				       "add %s's plain host key to known_hosts, after checking "
				       "its fingerprint with the host's admin", hop->alias);
	case JUMPFS_ERROR_HOSTKEY_UNKNOWN:
		return g_strdup_printf("verify the fingerprint with %s's admin before trusting "
				       "it; run from a terminal, jumpfs asks about it as ssh does",
				       hop->alias);
	case JUMPFS_ERROR_NO_PROMPT:
		return g_strdup("run jumpfs from a terminal (or with SSH_ASKPASS set) so that "
				"it can ask");
	case JUMPFS_ERROR_AUTH_NO_PROMPT:
		return g_strdup_printf("%s wants a password or passphrase that could not be "
				       "asked: run from a terminal, or use ssh-agent, "
				       "-o password_stdin or SSH_ASKPASS", hop->alias);
	case JUMPFS_ERROR_AUTH:
		return g_strdup_printf("is '%s' the right user on %s (User, or user@ in "
				       "ProxyJump / -J)? Is your public key in that user's "
				       "authorized_keys there? Is the right IdentityFile set for "
				       "this host?", hop->user, hop->alias);
	case JUMPFS_ERROR_PROTOCOL:
		return g_strdup_printf("is it an SSH server on %s port %d, and does it share "
				       "a key exchange and cipher with libssh?",
				       hop->hostname, hop->port);
	case JUMPFS_ERROR_DISCONNECTED:
		return g_strdup_printf("%s closed the connection: its sshd log says why",
				       via ? via_name : hop->alias);
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
	if (report->host_key.decided_by != NULL)
		printf("    decided   %s  (as %s)\n", report->host_key.decided_by,
		       report->host_key.name);
	for (guint i = 0; report->host_key.skipped != NULL && i < report->host_key.skipped->len; i++)
		printf("    skipped   %s\n", (const char *)report->host_key.skipped->pdata[i]);
	if (report->auth_method != NULL)
		printf("    auth      %s\n", report->auth_method);
	if (report->connect_us > 0 && report->auth_us > 0)
		printf("    time      %.1f ms to connect, %.1f ms to authenticate\n",
		       report->connect_us / 1000.0, report->auth_us / 1000.0);
	else if (report->connect_us > 0)
		printf("    time      %.1f ms to connect\n", report->connect_us / 1000.0);
}

static int check_sftp(ChainCache *cache, const ChainSpec *chain)
{
	GError *error = NULL;
	int fd = chain_cache_open_sftp(cache, chain, 0, &error);
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
			g_autofree char *hint = check_hint(error, chain, depth);
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
