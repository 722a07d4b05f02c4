/* Host key verification at one hop, with OpenSSH's policy.
 *
 * libssh finds the entry ([host]:port for ports other than 22, hashed
 * names, the global file after the user's); this file turns what it found
 * and StrictHostKeyChecking into a decision and a message a person can act
 * on. A changed key is refused whatever the policy says. */
#include "chain/knownhosts.h"

#include "chain/errors.h"

static char *knownhosts_fingerprint(ssh_key key)
{
	unsigned char *hash = NULL;
	size_t hash_len = 0;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len) < 0)
		return g_strdup("(unknown)");
	char *text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
	char *copy = g_strdup(text);
	ssh_string_free_char(text);
	ssh_clean_pubkey_hash(&hash);
	return copy;
}

/* "host" or "[host]:port", as known_hosts spells the name. */
static char *knownhosts_name(const HopSpec *spec)
{
	if (spec->port == 22)
		return g_strdup(spec->hostname);
	return g_strdup_printf("[%s]:%d", spec->hostname, spec->port);
}

/* The key known_hosts holds for name, and its line, for the message about
 * a changed key: libssh returns no entry in that case. */
static char *knownhosts_expected(const char *file, const char *name, int *line_no)
{
	g_autofree char *text = NULL;
	char *found = NULL;
	if (!g_file_get_contents(file, &text, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i] != NULL && found == NULL; i++) {
		struct ssh_knownhosts_entry *entry = NULL;
		const char *line = g_strstrip(lines[i]);
		if (*line == '\0' || *line == '#' || *line == '@')
			continue;
		if (ssh_known_hosts_parse_line(name, line, &entry) == SSH_OK && entry != NULL) {
			if (entry->publickey != NULL) {
				g_autofree char *fingerprint = knownhosts_fingerprint(entry->publickey);
				found = g_strdup_printf("%s %s",
					ssh_key_type_to_char(ssh_key_type(entry->publickey)),
					fingerprint);
				*line_no = i + 1;
			}
		}
		if (entry != NULL)
			ssh_knownhosts_entry_free(entry);
	}
	return found;
}

/* Looks the key up in each UserKnownHostsFile (libssh takes one at a time)
 * and the first GlobalKnownHostsFile; the first file that knows the host
 * decides. Leaves SSH_OPTIONS_KNOWNHOSTS on the deciding file, or on the
 * first one, where accept-new writes. */
static enum ssh_known_hosts_e knownhosts_lookup(ssh_session session,
						const HopSpec *spec,
						struct ssh_knownhosts_entry **entry,
						const char **file)
{
	enum ssh_known_hosts_e state = SSH_KNOWN_HOSTS_NOT_FOUND;
	const char *first = g_ptr_array_index(spec->user_known_hosts, 0);

	*file = first;
	for (guint i = 0; i < spec->user_known_hosts->len; i++) {
		const char *path = g_ptr_array_index(spec->user_known_hosts, i);
		ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, path);
		state = ssh_session_get_known_hosts_entry(session, entry);
		if (state == SSH_KNOWN_HOSTS_OK || state == SSH_KNOWN_HOSTS_CHANGED ||
		    state == SSH_KNOWN_HOSTS_OTHER || state == SSH_KNOWN_HOSTS_ERROR) {
			*file = path;
			return state;
		}
		if (*entry != NULL) {
			ssh_knownhosts_entry_free(*entry);
			*entry = NULL;
		}
	}
	ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, first);
	return state;
}

gboolean knownhosts_verify(ssh_session session, const HopSpec *spec,
			   const char *label, HostKeyReport *report,
			   GError **error)
{
	ssh_key server_key = NULL;
	struct ssh_knownhosts_entry *entry = NULL;
	const char *file = NULL;
	gboolean ok = FALSE;

	if (spec->global_known_hosts->len > 0)
		ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
				g_ptr_array_index(spec->global_known_hosts, 0));
	if (ssh_get_server_publickey(session, &server_key) < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "%s: no host key received: %s", label, ssh_get_error(session));
		return FALSE;
	}
	report->key_type = g_strdup(ssh_key_type_to_char(ssh_key_type(server_key)));
	report->fingerprint = knownhosts_fingerprint(server_key);

	g_autofree char *name = knownhosts_name(spec);
	enum ssh_known_hosts_e state = knownhosts_lookup(session, spec, &entry, &file);
	switch (state) {
	case SSH_KNOWN_HOSTS_OK:
		report->status = "known";
		ok = TRUE;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER: {
		int line_no = 0;
		g_autofree char *expected = knownhosts_expected(file, name, &line_no);
		report->status = "CHANGED";
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_CHANGED,
			    "%s: HOST KEY CHANGED for %s: %s line %d has %s, "
			    "the server offered %s %s. Someone may be intercepting the "
			    "connection, or the host key was replaced; refusing to connect. "
			    "If the change is expected, remove the old entry with "
			    "ssh-keygen -R '%s'",
			    label, name, file, line_no,
			    expected ? expected : "another key", report->key_type,
			    report->fingerprint, name);
		break;
	}
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		if (spec->strict_host_key == STRICT_HOSTKEY_ACCEPT_NEW ||
		    spec->strict_host_key == STRICT_HOSTKEY_NO) {
			if (ssh_session_update_known_hosts(session) == SSH_OK) {
				report->status = "added to known_hosts";
				g_message("%s: added %s %s for %s to %s", label,
					  report->key_type, report->fingerprint, name, file);
			} else {
				report->status = "unknown (could not record it)";
				g_warning("%s: could not add the host key to %s: %s", label,
					  file, ssh_get_error(session));
			}
			ok = TRUE;
			break;
		}
		report->status = "unknown";
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "%s: host key for %s is not in known_hosts (%s): %s %s. "
			    "Check the fingerprint, then connect once with ssh to add it, "
			    "or use -o StrictHostKeyChecking=accept-new",
			    label, name, file, report->key_type, report->fingerprint);
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		report->status = "error";
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "%s: cannot check the host key of %s against %s: %s",
			    label, name, file, ssh_get_error(session));
		break;
	}
	if (entry != NULL)
		ssh_knownhosts_entry_free(entry);
	ssh_key_free(server_key);
	return ok;
}

void host_key_report_clear(HostKeyReport *report)
{
	g_clear_pointer(&report->key_type, g_free);
	g_clear_pointer(&report->fingerprint, g_free);
	report->status = NULL;
}
