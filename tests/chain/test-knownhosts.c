/* The host key decision (chain/knownhosts.c), table-driven: known_hosts
 * files + settings + the server's key -> accepted or refused (with which
 * error code), what --check reports, what was asked and what was written.
 *
 * Each case gets a fresh directory D: D/known_hosts and D/known_hosts2 are
 * the UserKnownHostsFiles, D/global the GlobalKnownHostsFile, D/revoked
 * the RevokedHostKeys file (when the case sets one). @A@ @B@ @EC@ @RSA@
 * in texts are "type base64" of the keys; @D@ is the directory. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chain/errors.h"
#include "chain/knownhosts-file.h"
#include "chain/knownhosts.h"
#include "chain/prompt.h"

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb"
#define FP_A "SHA256:j9gMBmzO3gnt95ZSq4hggMHBXKr22x2l27X9nURSzms"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRqhJbz46O4+F5yEhVyTDPgebGsAH0DV0QDlmefXMaL"
#define KEY_EC "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIj7jLSH" \
	"KaRVDvwmwd9wflZ92HSv4o0pKbZ+4Z9dtxnIiJ5cVSLeakYbgOYTA4sXH9SSx6+zeoG6TFhZ3VlxD00="
#define KEY_RSA "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCi1hWLGy8NxI5JhaFs+abxEFn3nPiCMcA6p/tis+qr" \
	"2AwG9RaMiv2ybSjhmdgUimoi3ro0pTk4kkqj1qjpAWsEM7IR7RGQu6dT41+XjUS9zklaNofiLw5wra0+ogT9" \
	"vJv84HFxZnFWsT1d5oc2H+ZdP03ioW779+UTXIGT3wjcKw=="

#define LABEL "hop 2/3 (u@h:2222)"
#define ASK STRICT_HOSTKEY_ASK
#define YES STRICT_HOSTKEY_YES
#define ACCEPT_NEW STRICT_HOSTKEY_ACCEPT_NEW
#define NO STRICT_HOSTKEY_NO
#define ACCEPTED (-1)

typedef struct {
	const char *name;          /* test path below /chain/knownhosts/decide/ */
	const char *host;          /* HostName */
	int port;
	const char *alias;         /* HostKeyAlias */
	StrictHostKey strict;
	gboolean batch;
	gboolean hash;             /* HashKnownHosts */
	const char *user;          /* D/known_hosts; NULL: no file */
	const char *user2;         /* D/known_hosts2 */
	const char *global;        /* D/global */
	const char *revoked;       /* D/revoked: RevokedHostKeys; "-": set, no file */
	const char *server;        /* the server's key text */
	const char *answers;       /* the asker's answers, '|' between; NULL: no asker */
	int code;                  /* JumpfsErrorCode, or ACCEPTED */
	const char *status;        /* the report's status */
	const char *decided_by;    /* part of report->decided_by; NULL: none */
	const char *message;       /* part of the error message */
	const char *written;       /* the line appended to D/known_hosts ("H" =
	                              hashed, for the lookup name); NULL: none */
	guint asked;               /* questions asked */
	const char *command;       /* KnownHostsCommand (@D@/cmd is the script) */
	const char *script;        /* D/cmd, a shell script */
	const char *args;          /* what the script wrote into D/args */
	gboolean no_user_files;    /* UserKnownHostsFile none */
} DecideCase;

/* A KnownHostsCommand that records its arguments and prints lines. */
#define SCRIPT(lines) "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/args\"\n" lines

static const DecideCase decide_cases[] = {
	{ "known", "h", 22, NULL, YES, .user = "h @A@\n", .server = KEY_A,
	  .code = ACCEPTED, .status = "known", .decided_by = "@D@/known_hosts:1" },
	{ "known/second-user-file", "h", 22, NULL, YES, .user = "", .user2 = "x @B@\nh @A@\n",
	  .server = KEY_A, .code = ACCEPTED, .status = "known",
	  .decided_by = "@D@/known_hosts2:2" },
	{ "known/global", "h", 22, NULL, YES, .global = "h @A@\n", .server = KEY_A,
	  .code = ACCEPTED, .status = "known", .decided_by = "@D@/global:1" },
	{ "known/port", "h", 2222, NULL, YES, .user = "[h]:2222 @A@\n", .server = KEY_A,
	  .code = ACCEPTED, .status = "known", .decided_by = "@D@/known_hosts:1" },
	/* ssh also accepts (read-only) the key under the name without port. */
	{ "known/port-plain-name", "h", 2222, NULL, YES, .user = "h @A@\n", .server = KEY_A,
	  .code = ACCEPTED, .status = "known",
	  .decided_by = "@D@/known_hosts:1 (the name without the port)" },
	{ "known/case", "H.Example.ORG", 22, NULL, YES, .user = "h.example.org @A@\n",
	  .server = KEY_A, .code = ACCEPTED, .status = "known" },
	{ "known/bad-line-before", "h", 22, NULL, ACCEPT_NEW,
	  .user = "h ssh-ed25519 AAAA!!!!\nh @A@\n", .server = KEY_A, .code = ACCEPTED,
	  .status = "known", .decided_by = "@D@/known_hosts:2" },
	/* HostKeyAlias: that name only, never the host's. */
	{ "alias/known", "h", 2222, "MyAlias", YES, .user = "myalias @A@\n", .server = KEY_A,
	  .code = ACCEPTED, .status = "known" },
	{ "alias/host-name-not-used", "h", 2222, "myalias", YES,
	  .user = "h @A@\n[h]:2222 @A@\n", .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN,
	  .status = "unknown", .message = "no ED25519 host key is known for myalias" },
	{ "alias/recorded", "h", 2222, "myalias", ACCEPT_NEW, .user = "", .server = KEY_A,
	  .code = ACCEPTED, .status = "added", .written = "myalias " KEY_A },
	/* UserKnownHostsFile none: read-only, as in ssh; a global key still counts. */
	{ "none/accept-new", "h", 22, NULL, ACCEPT_NEW, .no_user_files = TRUE, .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .status = "unknown",
	  .message = "with UserKnownHostsFile none a new key cannot be recorded" },
	{ "none/no", "h", 22, NULL, NO, .no_user_files = TRUE, .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .status = "unknown" },
	{ "none/global-known", "h", 22, NULL, YES, .no_user_files = TRUE, .global = "h @A@\n",
	  .server = KEY_A, .code = ACCEPTED, .status = "known", .decided_by = "@D@/global:1" },
	/* Changed: refused under every value, `no` included. */
	{ "changed/yes", "h", 22, NULL, YES, .user = "h @B@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .status = "CHANGED",
	  .decided_by = "@D@/known_hosts:1", .message = "HOST KEY CHANGED for h: @D@/known_hosts line 1" },
	{ "changed/ask", "h", 22, NULL, ASK, .user = "h @B@\n", .server = KEY_A, .answers = "yes",
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .status = "CHANGED" },
	{ "changed/accept-new", "h", 22, NULL, ACCEPT_NEW, .user = "h @B@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .status = "CHANGED" },
	{ "changed/no", "h", 22, NULL, NO, .user = "h @B@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .status = "CHANGED",
	  .message = "jumpfs refuses a changed key even with StrictHostKeyChecking no" },
	{ "changed/other-type", "h", 22, NULL, ACCEPT_NEW, .user = "h @RSA@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .status = "CHANGED", .message = "has RSA" },
	{ "changed/global", "h", 22, NULL, NO, .global = "h @B@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .decided_by = "@D@/global:1" },
	{ "changed/port", "h", 2222, NULL, ACCEPT_NEW, .user = "[h]:2222 @B@\nh @A@\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_CHANGED },
	/* Revoked: refused under every value. */
	{ "revoked/marker", "h", 22, NULL, NO, .user = "@revoked * @A@\nh @A@\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_REVOKED, .status = "REVOKED",
	  .decided_by = "@D@/known_hosts:1", .message = "marked @revoked in @D@/known_hosts line 1" },
	{ "revoked/marker-plain-name", "h", 2222, NULL, ACCEPT_NEW, .user = "@revoked h @A@\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_REVOKED },
	{ "revoked/file", "h", 22, NULL, NO, .user = "h @A@\n", .revoked = "@B@\n@A@\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_REVOKED, .status = "REVOKED",
	  .decided_by = "RevokedHostKeys @D@/revoked (line 2)",
	  .message = "revoked by RevokedHostKeys @D@/revoked (line 2)" },
	{ "revoked/file-other-key", "h", 22, NULL, YES, .user = "h @A@\n", .revoked = "@B@\n",
	  .server = KEY_A, .code = ACCEPTED, .status = "known" },
	{ "revoked/file-missing", "h", 22, NULL, NO, .user = "h @A@\n", .revoked = "-",
	  .server = KEY_A, .code = JUMPFS_ERROR_CONFIG, .status = "error",
	  .message = "cannot read RevokedHostKeys @D@/revoked" },
	{ "revoked/file-bad", "h", 22, NULL, NO, .user = "h @A@\n", .revoked = "@B@\njunk\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_CONFIG, .message = "@D@/revoked line 2" },
	/* Known only through a CA: refused, naming the line, never "unknown". */
	{ "ca/only", "h.example.org", 22, NULL, ACCEPT_NEW,
	  .user = "@cert-authority *.example.org @EC@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_CERT_ONLY, .status = "CA only",
	  .decided_by = "@D@/known_hosts:1",
	  .message = "known only through the @cert-authority line at @D@/known_hosts line 1, "
		     "and libssh 0.10 cannot take host certificates" },
	{ "ca/and-other-key", "h", 22, NULL, NO, .user = "@cert-authority * @EC@\nh @B@\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_CHANGED,
	  .message = "the @cert-authority line @D@/known_hosts:1 cannot vouch for it" },
	/* Unknown keys */
	{ "unknown/yes", "h", 22, NULL, YES, .user = "x @A@\n", .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .status = "unknown",
	  .message = "no ED25519 host key is known for h (read: @D@/known_hosts, @D@/known_hosts2, "
		     "@D@/global) and StrictHostKeyChecking is yes" },
	{ "unknown/accept-new", "h", 22, NULL, ACCEPT_NEW, .user = "x @B@", .server = KEY_A,
	  .code = ACCEPTED, .status = "added",
	  .decided_by = "@D@/known_hosts:2 (added now: StrictHostKeyChecking accept-new)",
	  .written = "h " KEY_A },
	{ "unknown/accept-new-hashed", "h", 2222, NULL, ACCEPT_NEW, .hash = TRUE,
	  .server = KEY_A, .code = ACCEPTED, .status = "added", .written = "H" },
	{ "unknown/accept-new-other-port-name", "h", 2222, NULL, ACCEPT_NEW, .user = "h @B@\n",
	  .server = KEY_A, .code = ACCEPTED, .written = "[h]:2222 " KEY_A },
	{ "unknown/no", "10.0.0.1", 22, NULL, NO, .server = KEY_EC, .code = ACCEPTED,
	  .status = "added", .written = "10.0.0.1 " KEY_EC },
	{ "unknown/unrecordable-name", "h*", 22, NULL, ACCEPT_NEW, .server = KEY_A,
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .message = "never recorded" },
	{ "unknown/bad-line-only", "h", 22, NULL, YES, .user = "h ssh-ed25519 AAAA!!!!\n",
	  .server = KEY_A, .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN },
	/* ask */
	{ "ask/yes", "h", 2222, NULL, ASK, .server = KEY_A, .answers = "yes", .code = ACCEPTED,
	  .status = "added", .decided_by = "(added now: accepted at the prompt)",
	  .written = "[h]:2222 " KEY_A, .asked = 1 },
	{ "ask/yes-hashed", "h", 2222, NULL, ASK, .hash = TRUE, .server = KEY_A,
	  .answers = "  YES \t", .code = ACCEPTED, .written = "H", .asked = 1 },
	{ "ask/fingerprint", "h", 22, NULL, ASK, .server = KEY_A, .answers = FP_A,
	  .code = ACCEPTED, .written = "h " KEY_A, .asked = 1 },
	{ "ask/wrong-fingerprint", "h", 22, NULL, ASK, .server = KEY_A,
	  .answers = "SHA256:j9gMBmzO3gnt95ZSq4hggMHBXKr22x2l27X9nURSzmX|no",
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .message = "not accepted", .asked = 2 },
	{ "ask/no", "h", 22, NULL, ASK, .server = KEY_A, .answers = "no",
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .status = "unknown", .message = "not accepted",
	  .asked = 1 },
	{ "ask/empty", "h", 22, NULL, ASK, .server = KEY_A, .answers = "",
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .asked = 1 },
	{ "ask/again", "h", 22, NULL, ASK, .server = KEY_A, .answers = "maybe|yes",
	  .code = ACCEPTED, .written = "h " KEY_A, .asked = 2 },
	{ "ask/cancelled", "h", 22, NULL, ASK, .server = KEY_A, .answers = "!",
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .asked = 1 },
	{ "ask/nobody", "h", 22, NULL, ASK, .server = KEY_A, .code = JUMPFS_ERROR_NO_PROMPT,
	  .message = "there is nobody to ask" },
	{ "ask/batch-mode", "h", 22, NULL, ASK, .batch = TRUE, .server = KEY_A, .answers = "yes",
	  .code = JUMPFS_ERROR_HOSTKEY_UNKNOWN, .message = "BatchMode is on" },
	/* KnownHostsCommand: its lines count like a file's; every word but
	 * the first is expanded. */
	{ "command/known", "h", 2222, NULL, YES, .server = KEY_A,
	  .command = "@D@/cmd %H %I %t %f %p %h %r %K",
	  .script = SCRIPT("echo '[h]:2222 @A@'\n"), .code = ACCEPTED, .status = "known",
	  .decided_by = "KnownHostsCommand:1",
	  .args = "[h]:2222 HOSTNAME ssh-ed25519 " FP_A " 2222 h u "
		  "AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb\n" },
	{ "command/changed", "h", 22, NULL, NO, .user = "h @A@\n", .server = KEY_A,
	  .command = "@D@/cmd", .script = SCRIPT("echo 'h @B@'\n"),
	  .code = ACCEPTED, .status = "known" },
	{ "command/pins", "h", 22, NULL, ACCEPT_NEW, .server = KEY_A,
	  .command = "@D@/cmd", .script = SCRIPT("printf 'junk\\nh @B@\\n'\n"),
	  .code = JUMPFS_ERROR_HOSTKEY_CHANGED, .decided_by = "KnownHostsCommand:2" },
	{ "command/alias", "h", 2222, "Alias1", YES, .server = KEY_A,
	  .command = "@D@/cmd '%H' \"x y\" a\\ b", .script = SCRIPT("echo 'alias1 @A@'\n"),
	  .code = ACCEPTED, .args = "alias1 x y a b\n" },
	{ "command/fails", "h", 22, NULL, YES, .user = "h @A@\n", .server = KEY_A,
	  .command = "@D@/cmd", .script = SCRIPT("exit 3\n"), .code = JUMPFS_ERROR_CONFIG,
	  .message = "KnownHostsCommand @D@/cmd exited with status 3" },
	{ "command/bad-quotes", "h", 22, NULL, YES, .server = KEY_A,
	  .command = "@D@/cmd 'open", .script = SCRIPT(""), .code = JUMPFS_ERROR_CONFIG,
	  .message = "contains invalid quotes" },
	{ "command/unknown-token", "h", 22, NULL, YES, .server = KEY_A,
	  .command = "@D@/cmd %Z", .script = SCRIPT(""), .code = JUMPFS_ERROR_CONFIG,
	  .message = "KnownHostsCommand" },
};

/* --- the asker ------------------------------------------------------- */

typedef struct {
	char **answers;
	guint next;
	GPtrArray *questions;
} FakeAsker;

static char *fake_ask(const PromptQuestion *question, gpointer user_data, GError **error)
{
	FakeAsker *fake = user_data;
	g_ptr_array_add(fake->questions, g_strdup(question->text));
	const char *answer = fake->answers[fake->next];
	if (answer == NULL || strcmp(answer, "!") == 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH, "cancelled");
		return NULL;
	}
	fake->next++;
	return g_strdup(answer);
}

/* --- running a case --------------------------------------------------- */

static char *expand(const char *text, const char *dir)
{
	GString *out = g_string_new(text);
	g_string_replace(out, "@A@", KEY_A, 0);
	g_string_replace(out, "@B@", KEY_B, 0);
	g_string_replace(out, "@EC@", KEY_EC, 0);
	g_string_replace(out, "@RSA@", KEY_RSA, 0);
	g_string_replace(out, "@D@", dir, 0);
	return g_string_free(out, FALSE);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	if (text == NULL)
		return;
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *content = expand(text, dir);
	g_assert_true(g_file_set_contents(path, content, -1, NULL));
}

static KnownHostsKey *key_from_text(const char *text)
{
	const char *space = strchr(text, ' ');
	KnownHostsKeyError why;
	KnownHostsKey *key = knownhosts_key_parse(text, space - text, space + 1,
						  strlen(space + 1), &why);
	g_assert_nonnull(key);
	return key;
}

static HopSpec *make_spec(const DecideCase *c, const char *dir)
{
	HopSpec *spec = g_new0(HopSpec, 1);
	spec->alias = g_strdup(c->host);
	spec->hostname = g_strdup(c->host);
	spec->user = g_strdup("u");
	spec->port = c->port;
	spec->user_known_hosts = g_ptr_array_new_with_free_func(g_free);
	if (!c->no_user_files) {
		g_ptr_array_add(spec->user_known_hosts, g_build_filename(dir, "known_hosts", NULL));
		g_ptr_array_add(spec->user_known_hosts, g_build_filename(dir, "known_hosts2", NULL));
	}
	spec->global_known_hosts = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(spec->global_known_hosts, g_build_filename(dir, "global", NULL));
	spec->strict_host_key = c->strict;
	spec->batch_mode = c->batch;
	spec->hash_known_hosts = c->hash;
	spec->host_key_alias = g_strdup(c->alias);
	if (c->revoked != NULL)
		spec->revoked_host_keys = g_build_filename(dir, "revoked", NULL);
	spec->identity_files = g_ptr_array_new_with_free_func(g_free);
	spec->certificate_files = g_ptr_array_new_with_free_func(g_free);
	return spec;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("'%s' is not in '%s'", needle, haystack ? haystack : "(null)");
}

/* The line the case appended to known_hosts, if any. */
static void check_written(const DecideCase *c, const char *dir, const char *before,
			  const HostKeyReport *report)
{
	g_autofree char *path = g_build_filename(dir, "known_hosts", NULL);
	g_autofree char *after = NULL;
	g_file_get_contents(path, &after, NULL, NULL);
	const char *old = before ? before : "";
	if (c->written == NULL) {
		g_assert_cmpstr(after ? after : "", ==, old);
		return;
	}
	g_assert_nonnull(after);
	g_assert_true(g_str_has_prefix(after, old));
	const char *added = after + strlen(old);
	/* A file without a final newline gets one before the new line. */
	if (*old != '\0' && old[strlen(old) - 1] != '\n') {
		g_assert_cmpint(*added, ==, '\n');
		added++;
	}
	/* One whole line */
	g_assert_true(g_str_has_suffix(added, "\n"));
	g_assert_true(strchr(added, '\n') == added + strlen(added) - 1);
	if (strcmp(c->written, "H") == 0) {
		g_autoptr(KnownHostsMatch) match = knownhosts_file_match_new(report->name);
		knownhosts_file_read_text(match, "new", added, strlen(added), FALSE);
		g_assert_cmpuint(match->entries->len, ==, 1);
		g_assert_true(((KnownHostsEntry *)match->entries->pdata[0])->hashed);
		g_autoptr(KnownHostsKey) server = key_from_text(c->server);
		g_assert_cmpint(knownhosts_file_check(match, server, NULL), ==, KNOWNHOSTS_STATUS_OK);
	} else {
		g_autofree char *want = g_strconcat(c->written, "\n", NULL);
		g_assert_cmpstr(added, ==, want);
	}
}

static void run_decide_case(gconstpointer data)
{
	const DecideCase *c = data;
	g_autofree char *dir = g_dir_make_tmp("test-knownhosts-XXXXXX", NULL);
	write_file(dir, "known_hosts", c->user);
	write_file(dir, "known_hosts2", c->user2);
	write_file(dir, "global", c->global);
	if (c->revoked != NULL && strcmp(c->revoked, "-") != 0)
		write_file(dir, "revoked", c->revoked);
	if (c->script != NULL) {
		write_file(dir, "cmd", c->script);
		g_autofree char *cmd = g_build_filename(dir, "cmd", NULL);
		g_assert_cmpint(g_chmod(cmd, 0755), ==, 0);
	}
	g_autofree char *before = c->user ? expand(c->user, dir) : NULL;

	FakeAsker fake = { .questions = g_ptr_array_new_with_free_func(g_free) };
	if (c->answers != NULL) {
		fake.answers = g_strsplit(c->answers, "|", -1);
		prompt_set_default_asker(fake_ask, &fake);
	} else {
		prompt_set_default_asker(NULL, NULL);
	}
	HopSpec *spec = make_spec(c, dir);
	if (c->command != NULL)
		spec->known_hosts_command = expand(c->command, dir);
	g_autoptr(KnownHostsKey) server = key_from_text(c->server);
	HostKeyReport report = { 0 };
	GError *error = NULL;
	gboolean ok = knownhosts_check_key(spec, LABEL, server, &report, &error);

	if (c->code == ACCEPTED) {
		g_assert_no_error(error);
		g_assert_true(ok);
	} else {
		g_assert_false(ok);
		g_assert_error(error, JUMPFS_ERROR, c->code);
		g_assert_true(g_str_has_prefix(error->message, LABEL ": "));
		/* Never an invitation to weaken the check. */
		g_assert_null(strstr(error->message, "accept-new"));
		g_assert_null(strstr(error->message, "=no"));
		if (c->message != NULL) {
			g_autofree char *want = expand(c->message, dir);
			assert_contains(error->message, want);
		}
	}
	if (c->status != NULL)
		g_assert_cmpstr(report.status, ==, c->status);
	if (c->decided_by != NULL) {
		g_autofree char *want = expand(c->decided_by, dir);
		assert_contains(report.decided_by, want);
	}
	g_assert_cmpstr(report.key_type, ==, knownhosts_key_name(server));
	g_assert_true(g_str_has_prefix(report.fingerprint, "SHA256:"));
	g_assert_cmpuint(fake.questions->len, ==, c->asked);
	if (c->asked > 0) {
		const char *first = fake.questions->pdata[0];
		g_autofree char *host_line = g_strdup_printf(
			LABEL ":\nThe authenticity of host '%s' can't be established.", report.name);
		assert_contains(first, host_line);
		assert_contains(first, report.fingerprint);
		assert_contains(first, "(yes/no/[fingerprint])? ");
	}
	if (c->asked > 1)
		g_assert_cmpstr(fake.questions->pdata[1], ==,
				"Please type 'yes', 'no' or the fingerprint: ");
	check_written(c, dir, before, &report);
	if (c->args != NULL) {
		g_autofree char *path = g_build_filename(dir, "args", NULL);
		g_autofree char *args = NULL;
		g_assert_true(g_file_get_contents(path, &args, NULL, NULL));
		g_autofree char *want = expand(c->args, dir);
		g_assert_cmpstr(args, ==, want);
	}

	prompt_set_default_asker(NULL, NULL);
	g_ptr_array_unref(fake.questions);
	g_strfreev(fake.answers);
	g_clear_error(&error);
	host_key_report_clear(&report);
	hop_spec_free(spec);
	const char *files[] = { "known_hosts", "known_hosts2", "global", "revoked", "cmd", "args" };
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(dir, files[i], NULL);
		g_unlink(path);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* --- host key algorithm order (order_hostkeyalgs) ---------------------- */

typedef struct {
	const char *name;
	const char *list;      /* HostKeyAlgorithms; NULL: the default */
	const char *user;      /* known_hosts */
	const char *want;
	gboolean fixed;        /* the user wrote the list out: never reordered */
} OrderCase;

#define DEFAULT_ALGS "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"rsa-sha2-512,rsa-sha2-256"

static const OrderCase order_cases[] = {
	{ "unknown-host", NULL, "x @RSA@\n", DEFAULT_ALGS, FALSE },
	{ "first-type-known", NULL, "h @A@\nh @RSA@\n", DEFAULT_ALGS, FALSE },
	{ "rsa-known", NULL, "h @RSA@\n",
	  "rsa-sha2-512,rsa-sha2-256,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
	  "ecdsa-sha2-nistp521", FALSE },
	{ "ecdsa-known", "ssh-ed25519,rsa-sha2-256,ecdsa-sha2-nistp256", "h @EC@\n",
	  "ecdsa-sha2-nistp256,ssh-ed25519,rsa-sha2-256", FALSE },
	{ "ca-line-not-a-key", NULL, "@cert-authority h @RSA@\n", DEFAULT_ALGS, FALSE },
	{ "revoked-not-a-key", NULL, "@revoked h @RSA@\n", DEFAULT_ALGS, FALSE },
	{ "list-verbatim", "rsa-sha2-512,ssh-ed25519", "h @RSA@\nh @A@\n", "rsa-sha2-512,ssh-ed25519", FALSE },
	{ "written-out-list-kept", "ssh-ed25519,rsa-sha2-256,ecdsa-sha2-nistp256", "h @EC@\n",
	  "ssh-ed25519,rsa-sha2-256,ecdsa-sha2-nistp256", TRUE },
};

static void run_order_case(gconstpointer data)
{
	const OrderCase *c = data;
	g_autofree char *dir = g_dir_make_tmp("test-knownhosts-XXXXXX", NULL);
	write_file(dir, "known_hosts", c->user);
	DecideCase d = { .host = "h", .port = 22 };
	HopSpec *spec = make_spec(&d, dir);
	spec->hostkey_algorithms = g_strdup(c->list);
	spec->hostkey_algorithms_fixed = c->fixed;
	GError *error = NULL;
	g_autofree char *order = knownhosts_order_algorithms(spec, LABEL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(order, ==, c->want);
	hop_spec_free(spec);
	g_autofree char *path = g_build_filename(dir, "known_hosts", NULL);
	g_unlink(path);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
		g_autofree char *path = g_strdup_printf("/chain/knownhosts/decide/%s",
							decide_cases[i].name);
		g_test_add_data_func(path, &decide_cases[i], run_decide_case);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(order_cases); i++) {
		g_autofree char *path = g_strdup_printf("/chain/knownhosts/order/%s",
							order_cases[i].name);
		g_test_add_data_func(path, &order_cases[i], run_order_case);
	}
	return g_test_run();
}
