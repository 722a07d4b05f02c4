/* Host key verification at one hop: OpenSSH 9.2's check_host_key() and
 * order_hostkeyalgs() over jumpfs's own known_hosts reader. See
 * knownhosts.h for the rules, knownhosts-file.c for the reading. */
#include "chain/knownhosts.h"

#include <string.h>

#include "chain/errors.h"
#include "chain/knownhosts-command.h"
#include "chain/knownhosts-file.h"
#include "chain/knownhosts-record.h"
#include "chain/knownhosts-revoked.h"
#include "chain/prompt.h"

/* OpenSSH 9.2's default HostKeyAlgorithms less the certificate types,
 * which libssh 0.10 cannot take. */
#define KNOWNHOSTS_DEFAULT_ALGORITHMS \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"rsa-sha2-512,rsa-sha2-256"

/* The host name as ssh matches it: lowercased, unless it is an address. */
static char *knownhosts_hostname(const HopSpec *spec)
{
	if (g_hostname_is_ip_address(spec->hostname))
		return g_strdup(spec->hostname);
	return g_ascii_strdown(spec->hostname, -1);
}

/* get_hostfile_hostname_ipaddr(): the alias alone, else [host]:port. */
static char *knownhosts_lookup_name(const HopSpec *spec)
{
	if (spec->host_key_alias != NULL)
		return g_ascii_strdown(spec->host_key_alias, -1);
	g_autofree char *host = knownhosts_hostname(spec);
	if (spec->port == 22)
		return g_steal_pointer(&host);
	return g_strdup_printf("[%s]:%d", host, spec->port);
}

/* Every UserKnownHostsFile, then every GlobalKnownHostsFile. A file that
 * exists but cannot be read is skipped, as OpenSSH skips it (quietly:
 * here with a warning). */
static KnownHostsMatch *knownhosts_load(const HopSpec *spec, const char *label,
					const char *name)
{
	KnownHostsMatch *match = knownhosts_file_match_new(name);
	GPtrArray *lists[] = { spec->user_known_hosts, spec->global_known_hosts };
	for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint i = 0; lists[l] != NULL && i < lists[l]->len; i++) {
			const char *path = g_ptr_array_index(lists[l], i);
			GError *error = NULL;
			if (!knownhosts_file_read(match, path, &error)) {
				g_warning("%s: cannot read %s (skipped, as ssh skips it): %s",
					  label, path, error->message);
				g_error_free(error);
			}
		}
	}
	return match;
}

static gboolean knownhosts_algorithm_known(const KnownHostsMatch *match, const char *alg)
{
	KnownHostsKeyKind kind;
	int curve;
	gboolean cert;
	return knownhosts_key_type_from_name(alg, strlen(alg), &kind, &curve, &cert) &&
	       knownhosts_file_find_kind(match, kind, curve) != NULL;
}

char *knownhosts_order_algorithms(const HopSpec *spec, const char *label, GError **error)
{
	const char *list = spec->hostkey_algorithms != NULL ? spec->hostkey_algorithms
							     : KNOWNHOSTS_DEFAULT_ALGORITHMS;
	g_autofree char *name = knownhosts_lookup_name(spec);
	g_autoptr(KnownHostsMatch) match = knownhosts_load(spec, label, name);
	/* order_hostkeyalgs() runs KnownHostsCommand with the bare host
	 * name (no alias, no port) as %H and as the name its lines match. */
	g_autofree char *host = knownhosts_hostname(spec);
	g_autoptr(KnownHostsMatch) command = knownhosts_file_match_new(host);
	if (spec->known_hosts_command != NULL &&
	    !knownhosts_command_read(spec, label, "ORDER", host, NULL, command, error))
		return NULL;
	for (guint i = 0; i < command->entries->len; i++)
		g_ptr_array_add(match->entries, g_steal_pointer(&command->entries->pdata[i]));
	g_ptr_array_set_size(command->entries, 0);

	g_auto(GStrv) algs = g_strsplit(list, ",", -1);
	/* A list the user wrote out, or a known key of the most preferred
	 * type: the list as it is. */
	if (spec->hostkey_algorithms_fixed || algs[0] == NULL ||
	    knownhosts_algorithm_known(match, algs[0]))
		return g_strdup(list);
	/* Else the known types first, each group in the list's order. */
	g_autoptr(GPtrArray) first = g_ptr_array_new();
	g_autoptr(GPtrArray) last = g_ptr_array_new();
	for (gsize i = 0; algs[i] != NULL; i++) {
		if (*algs[i] == '\0')
			continue;
		g_ptr_array_add(knownhosts_algorithm_known(match, algs[i]) ? first : last, algs[i]);
	}
	for (guint i = 0; i < last->len; i++)
		g_ptr_array_add(first, last->pdata[i]);
	g_ptr_array_add(first, NULL);
	return g_strjoinv(",", (char **)first->pdata);
}

char *knownhosts_prepare(ssh_session session, const HopSpec *spec, const char *label,
			 GError **error)
{
	if (ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") != 0 ||
	    ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "%s: libssh refused its known_hosts files: %s", label,
			    ssh_get_error(session));
		return NULL;
	}
	return knownhosts_order_algorithms(spec, label, error);
}

/* "FILE:LINE", noting how the line named the host. */
static char *knownhosts_where(const KnownHostsEntry *entry, const char *note)
{
	return g_strdup_printf("%s:%u%s%s", entry->source, entry->line,
			       entry->hashed ? " (hashed)" : "", note ? note : "");
}

static char *knownhosts_files(const HopSpec *spec)
{
	GString *text = g_string_new(NULL);
	GPtrArray *lists[] = { spec->user_known_hosts, spec->global_known_hosts };
	for (gsize l = 0; l < G_N_ELEMENTS(lists); l++)
		for (guint i = 0; lists[l] != NULL && i < lists[l]->len; i++)
			g_string_append_printf(text, "%s%s", text->len ? ", " : "",
					       (const char *)g_ptr_array_index(lists[l], i));
	return g_string_free(text, FALSE);
}

static void knownhosts_note_skipped(HostKeyReport *report, const KnownHostsMatch *match)
{
	for (guint i = 0; match != NULL && i < match->skipped->len; i++) {
		const KnownHostsSkipped *s = g_ptr_array_index(match->skipped, i);
		if (report->skipped == NULL)
			report->skipped = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(report->skipped,
				g_strdup_printf("%s:%u: %s", s->source, s->line, s->why));
	}
}

/* RevokedHostKeys, before anything else (verify_host_key()). */
static gboolean knownhosts_check_revoked_file(const HopSpec *spec, const char *label,
					      const KnownHostsKey *server,
					      HostKeyReport *report, GError **error)
{
	const char *path = spec->revoked_host_keys;
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: cannot read RevokedHostKeys %s: %s; the host key cannot be "
			    "checked against it (ssh refuses too)", label, path, local->message);
		g_error_free(local);
		report->status = "error";
		return FALSE;
	}
	gboolean revoked = FALSE;
	g_autofree char *where = NULL;
	if (!knownhosts_revoked_check(path, (const guint8 *)data, len, server, &revoked,
				      &where, &local)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: RevokedHostKeys unusable, host key not checked: %s", label,
			    local->message);
		g_error_free(local);
		report->status = "error";
		return FALSE;
	}
	if (!revoked)
		return TRUE;
	report->status = "REVOKED";
	report->decided_by = g_strdup_printf("RevokedHostKeys %s (%s)", path, where);
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_REVOKED,
		    "%s: the %s host key of %s (%s) is revoked by RevokedHostKeys %s (%s); "
		    "refusing it under every StrictHostKeyChecking setting",
		    label, knownhosts_key_short_name(server), report->name,
		    report->fingerprint, path, where);
	return FALSE;
}

/* confirm() with "(yes/no/[fingerprint])": TRUE if accepted; FALSE with
 * *error when declined or nobody could be asked. The hop has a line of its
 * own, so that ssh's lines stay whole on an 80-column terminal. */
static gboolean knownhosts_ask(const char *label, const KnownHostsKey *server,
			       HostKeyReport *report, GError **error)
{
	g_autofree char *raw = g_strdup_printf(
		"%s:\nThe authenticity of host '%s' can't be established.\n"
		"%s key fingerprint is %s.\n"
		"Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
		label, report->name, knownhosts_key_short_name(server), report->fingerprint);
	g_autofree char *text = prompt_escape(raw, TRUE);
	PromptQuestion question = { .hop_label = label, .text = text, .echo = TRUE };
	for (;;) {
		GError *local = NULL;
		char *answer = prompt_ask(&question, &local);
		if (answer == NULL) {
			if (g_error_matches(local, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT)) {
				/* For the system log (a reconnect in the background);
				 * the terminal gets the error itself. */
				g_info("%s: refused the unknown %s host key %s of %s: "
				       "nobody to ask", label, report->key_type,
				       report->fingerprint, report->name);
				g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
					    "%s: the %s host key %s of %s is not known, and there "
					    "is nobody to ask (%s): run jumpfs from a terminal to "
					    "check the key and record it", label,
					    knownhosts_key_short_name(server), report->fingerprint,
					    report->name, local->message);
			} else {
				g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
					    "%s: host key of %s not accepted (%s %s): %s", label,
					    report->name, report->key_type, report->fingerprint,
					    local->message);
			}
			g_error_free(local);
			return FALSE;
		}
		char *p = answer + strspn(answer, " \t");
		p[strcspn(p, " \t\n")] = '\0';
		int verdict = -1;
		if (*p == '\0' || g_ascii_strcasecmp(p, "no") == 0)
			verdict = 0;
		else if (g_ascii_strcasecmp(p, "yes") == 0 || strcmp(p, report->fingerprint) == 0)
			verdict = 1;
		prompt_answer_free(answer);
		if (verdict == 1)
			return TRUE;
		if (verdict == 0) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
				    "%s: host key of %s not accepted (%s %s)", label,
				    report->name, report->key_type, report->fingerprint);
			return FALSE;
		}
		question.text = "Please type 'yes', 'no' or the fingerprint: ";
	}
}

/* accept-new, no, or yes at the prompt: into the first UserKnownHostsFile.
 * A failure to write is a warning, not a refusal (as in OpenSSH). */
static void knownhosts_add(const HopSpec *spec, const char *label,
			   const KnownHostsKey *server, HostKeyReport *report,
			   const char *why)
{
	g_assert(spec->user_known_hosts->len > 0); /* see knownhosts_unknown */
	const char *path = g_ptr_array_index(spec->user_known_hosts, 0);
	guint line = 0;
	GError *error = NULL;
	report->status = "added";
	if (!knownhosts_record(path, report->name, server, spec->hash_known_hosts, NULL,
			       &line, &error)) {
		g_warning("%s: could not add the host key for %s: %s", label, report->name,
			  error->message);
		report->decided_by = g_strdup_printf("%s, but %s", why, error->message);
		g_error_free(error);
		return;
	}
	g_message("%s: permanently added '%s' (%s) to %s line %u%s", label, report->name,
		  knownhosts_key_short_name(server), path, line,
		  spec->hash_known_hosts ? ", hashed" : "");
	report->decided_by = g_strdup_printf("%s:%u (added now: %s)", path, line, why);
}

static gboolean knownhosts_unknown(const HopSpec *spec, const char *label,
				   const KnownHostsKey *server, HostKeyReport *report,
				   GError **error)
{
	const char *type = knownhosts_key_short_name(server);
	g_autofree char *files = knownhosts_files(spec);
	g_autofree char *hostname = knownhosts_hostname(spec);
	report->status = "unknown";
	if (!knownhosts_record_name_ok(hostname)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "%s: no %s host key is known for %s (read: %s), and a host name "
			    "with one of @?*#[]|'\"\\ in it is never recorded", label, type,
			    report->name, files);
		return FALSE;
	}
	/* UserKnownHostsFile none: ssh treats the files as read-only and
	 * refuses a key it could not record, whatever the policy. */
	if (spec->user_known_hosts->len == 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "%s: no %s host key is known for %s (read: %s), and with "
			    "UserKnownHostsFile none a new key cannot be recorded, so it is "
			    "refused. The server offered %s: verify that fingerprint with the "
			    "host's admin, then add it to a known_hosts file",
			    label, type, report->name, *files ? files : "no file",
			    report->fingerprint);
		return FALSE;
	}
	switch (spec->strict_host_key) {
	case STRICT_HOSTKEY_ACCEPT_NEW:
		knownhosts_add(spec, label, server, report, "StrictHostKeyChecking accept-new");
		return TRUE;
	case STRICT_HOSTKEY_NO:
		knownhosts_add(spec, label, server, report, "StrictHostKeyChecking no");
		return TRUE;
	case STRICT_HOSTKEY_ASK:
		if (!spec->batch_mode) {
			if (!knownhosts_ask(label, server, report, error))
				return FALSE;
			knownhosts_add(spec, label, server, report, "accepted at the prompt");
			return TRUE;
		}
		break;
	case STRICT_HOSTKEY_YES:
		break;
	}
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
		    "%s: no %s host key is known for %s (read: %s) and %s, so it is refused. "
		    "The server offered %s: verify that fingerprint with the host's admin, "
		    "then connect once from a terminal to be asked, or add the key to %s",
		    label, type, report->name, files,
		    spec->strict_host_key == STRICT_HOSTKEY_YES
			    ? "StrictHostKeyChecking is yes"
			    : "BatchMode is on (nobody is asked)",
		    report->fingerprint, (const char *)g_ptr_array_index(spec->user_known_hosts, 0));
	return FALSE;
}

static gboolean knownhosts_changed(const HopSpec *spec, const char *label,
				   const KnownHostsKey *server, const KnownHostsEntry *found,
				   const KnownHostsMatch *match, HostKeyReport *report,
				   GError **error)
{
	g_autofree char *expected_fp = knownhosts_key_fingerprint(found->key);
	const KnownHostsEntry *ca = knownhosts_file_find_marker(match, KNOWNHOSTS_MARKER_CA);
	g_autofree char *ca_note = ca == NULL ? g_strdup("") : g_strdup_printf(
		" (the @cert-authority line %s:%u cannot vouch for it: libssh 0.10 takes "
		"no host certificates)", ca->source, ca->line);
	report->status = "CHANGED";
	report->decided_by = knownhosts_where(found, NULL);
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_CHANGED,
		    "%s: HOST KEY CHANGED for %s: %s line %u has %s %s, the server offered "
		    "%s %s%s. Someone may be intercepting the connection, or the host key "
		    "was replaced; refusing to connect%s. If the change is expected, confirm "
		    "the new fingerprint with the host's admin and remove the old entry with "
		    "ssh-keygen -R '%s' -f %s",
		    label, report->name, found->source, found->line,
		    knownhosts_key_short_name(found->key), expected_fp,
		    knownhosts_key_short_name(server), report->fingerprint, ca_note,
		    spec->strict_host_key == STRICT_HOSTKEY_NO
			    ? " (jumpfs refuses a changed key even with StrictHostKeyChecking no)"
			    : "",
		    report->name, found->source);
	return FALSE;
}

gboolean knownhosts_check_key(const HopSpec *spec, const char *label,
			      const KnownHostsKey *server, HostKeyReport *report,
			      GError **error)
{
	report->key_type = g_strdup(knownhosts_key_name(server));
	report->fingerprint = knownhosts_key_fingerprint(server);
	report->name = knownhosts_lookup_name(spec);
	if (spec->revoked_host_keys != NULL &&
	    !knownhosts_check_revoked_file(spec, label, server, report, error))
		return FALSE;

	g_autoptr(KnownHostsMatch) match = knownhosts_load(spec, label, report->name);
	if (spec->known_hosts_command != NULL &&
	    !knownhosts_command_read(spec, label, "HOSTNAME", report->name, server, match,
				     error)) {
		report->status = "error";
		return FALSE;
	}
	g_autoptr(KnownHostsMatch) portless = NULL;
	const KnownHostsEntry *found = NULL;
	const char *note = NULL;
	KnownHostsStatus status = knownhosts_file_check(match, server, &found);
	knownhosts_note_skipped(report, match);
	/* Not known under [host]:port: ssh also accepts (never records) a
	 * matching key under the plain name. It would ignore a revocation
	 * there; jumpfs refuses it. */
	if (status == KNOWNHOSTS_STATUS_NEW && spec->host_key_alias == NULL && spec->port != 22) {
		g_autofree char *hostname = knownhosts_hostname(spec);
		const KnownHostsEntry *plain = NULL;
		portless = knownhosts_load(spec, label, hostname);
		KnownHostsStatus plain_status = knownhosts_file_check(portless, server, &plain);
		knownhosts_note_skipped(report, portless);
		if (plain_status == KNOWNHOSTS_STATUS_OK || plain_status == KNOWNHOSTS_STATUS_REVOKED) {
			status = plain_status;
			found = plain;
			note = " (the name without the port)";
		}
	}

	switch (status) {
	case KNOWNHOSTS_STATUS_OK:
		report->status = "known";
		report->decided_by = knownhosts_where(found, note);
		return TRUE;
	case KNOWNHOSTS_STATUS_REVOKED:
		report->status = "REVOKED";
		report->decided_by = knownhosts_where(found, note);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_REVOKED,
			    "%s: the %s host key of %s (%s) is marked @revoked in %s line %u: "
			    "someone may be using a stolen key to pose as this host; refusing "
			    "it under every StrictHostKeyChecking setting",
			    label, knownhosts_key_short_name(server), report->name,
			    report->fingerprint, found->source, found->line);
		return FALSE;
	case KNOWNHOSTS_STATUS_CHANGED:
		return knownhosts_changed(spec, label, server, found, match, report, error);
	case KNOWNHOSTS_STATUS_NEW:
		break;
	}
	const KnownHostsEntry *ca = knownhosts_file_find_marker(match, KNOWNHOSTS_MARKER_CA);
	if (ca == NULL && portless != NULL)
		ca = knownhosts_file_find_marker(portless, KNOWNHOSTS_MARKER_CA);
	if (ca != NULL) {
		report->status = "CA only";
		report->decided_by = knownhosts_where(ca, NULL);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_CERT_ONLY,
			    "%s: %s is known only through the @cert-authority line at %s line %u, "
			    "and libssh 0.10 cannot take host certificates: jumpfs needs the "
			    "host's plain key in known_hosts (the server offered %s %s; check it "
			    "with the host's admin before adding it)",
			    label, report->name, ca->source, ca->line,
			    knownhosts_key_short_name(server), report->fingerprint);
		return FALSE;
	}
	return knownhosts_unknown(spec, label, server, report, error);
}

gboolean knownhosts_verify(ssh_session session, const HopSpec *spec, const char *label,
			   HostKeyReport *report, GError **error)
{
	ssh_key key = NULL;
	char *base64 = NULL;
	if (ssh_get_server_publickey(session, &key) < 0 ||
	    ssh_pki_export_pubkey_base64(key, &base64) != SSH_OK) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "%s: no host key received: %s", label, ssh_get_error(session));
		ssh_key_free(key);
		report->status = "error";
		return FALSE;
	}
	ssh_key_free(key);
	g_autoptr(GBytes) blob = knownhosts_key_base64_decode(base64, strlen(base64));
	ssh_string_free_char(base64);
	KnownHostsKeyError why = KNOWNHOSTS_KEY_BAD_BASE64;
	g_autoptr(KnownHostsKey) server = blob == NULL ? NULL :
		knownhosts_key_from_blob(g_bytes_get_data(blob, NULL), g_bytes_get_size(blob), &why);
	if (server == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "%s: the server's host key cannot be read: %s", label,
			    knownhosts_key_error_text(why));
		report->status = "error";
		return FALSE;
	}
	return knownhosts_check_key(spec, label, server, report, error);
}

void host_key_report_clear(HostKeyReport *report)
{
	g_clear_pointer(&report->key_type, g_free);
	g_clear_pointer(&report->fingerprint, g_free);
	g_clear_pointer(&report->name, g_free);
	g_clear_pointer(&report->decided_by, g_free);
	g_clear_pointer(&report->skipped, g_ptr_array_unref);
	report->status = NULL;
}
