/* The keyword table, tokens, algorithm lists, Match and canonicalization
 * (chain/config-keywords.c, config-tokens.c, config-algorithms.c,
 * config-match.c, config-canon.c), through their own calls and through
 * config_resolve() with config text in a temporary home. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>

#include "chain/config-algorithms.h"
#include "chain/config-keywords.h"
#include "chain/config-tokens.h"
#include "chain/config-util.h"
#include "chain/config.h"
#include "chain/errors.h"

/* Every descriptor: a lowercase name known once, a slot, and for the
 * ones without effect a reason. */
static void
test_table(void)
{
	gsize count;
	const ConfigKeyword *table = config_keyword_table(&count);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);

	g_assert_cmpuint(count, >=, 125);
	for (gsize i = 0; i < count; i++) {
		const ConfigKeyword *k = &table[i];
		g_autofree char *lower = g_ascii_strdown(k->name, -1);
		g_assert_cmpstr(k->name, ==, lower);
		g_assert_false(g_hash_table_contains(names, k->name));
		g_hash_table_add(names, (gpointer)k->name);
		g_assert_true(config_keyword_lookup(k->name) == k);
		g_autofree char *upper = g_ascii_strup(k->name, -1);
		g_assert_true(config_keyword_lookup(upper) == k);
		g_assert_cmpint(k->kw, >, CONFIG_KW_BAD);
		g_assert_cmpint(k->kw, <, CONFIG_KW_COUNT);
		if (k->kind == CONFIG_KIND_FLAG || k->kind == CONFIG_KIND_ENUM)
			g_assert_nonnull(k->values);
		if (k->no_effect != NULL)
			g_assert_cmpuint(strlen(k->no_effect), >, 10);
	}
	/* Every slot has a keyword. */
	for (int kw = CONFIG_KW_BAD + 1; kw < CONFIG_KW_COUNT; kw++)
		g_assert_nonnull(config_keyword_by_slot(kw));
	/* OpenSSH 9.2 does not know these: they are errors, as there. */
	g_assert_null(config_keyword_lookup("usekeychain"));
	g_assert_null(config_keyword_lookup("channeltimeout"));
	g_assert_null(config_keyword_lookup("tag"));
	/* Aliases share the slot. */
	g_assert_cmpint(config_keyword_lookup("ChallengeResponseAuthentication")->kw, ==,
	                CONFIG_KW_KBDINT_AUTH);
	g_assert_cmpint(config_keyword_lookup("PubkeyAcceptedKeyTypes")->kw, ==,
	                CONFIG_KW_PUBKEY_ALGORITHMS);
	g_assert_nonnull(config_keyword_lookup("forwardagent")->no_effect);
	g_assert_null(config_keyword_lookup("proxycommand")->no_effect);
}

/* OpenSSH's match_pattern(), case-sensitive; linear on hostile input. */
static void
test_patterns(void)
{
	struct { const char *pattern, *text; gboolean match; } cases[] = {
		{ "*", "", TRUE }, { "*", "abc", TRUE }, { "", "", TRUE }, { "", "a", FALSE },
		{ "a*c", "abbbc", TRUE }, { "a*c", "abbbd", FALSE }, { "a?c", "abc", TRUE },
		{ "a?c", "ac", FALSE }, { "*.example", "x.example", TRUE },
		{ "*.example", "example", FALSE }, { "Web", "web", FALSE },
		{ "**a", "a", TRUE }, { "*a*b", "xaxxb", TRUE }, { "*a*b", "xbxxa", FALSE },
		{ "?*", "", FALSE }, { "a*a*a*a*a*a*a*a*a*a*a*a*b",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", FALSE },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		if (config_pattern_match(cases[i].pattern, cases[i].text) != cases[i].match)
			g_error("pattern \"%s\" vs \"%s\"", cases[i].pattern, cases[i].text);
	g_assert_cmpint(config_pattern_list("web1", "web*,!web1", FALSE), ==, -1);
	g_assert_cmpint(config_pattern_list("web2", "web*,!web1", FALSE), ==, 1);
	g_assert_cmpint(config_pattern_list("db", "web*", FALSE), ==, 0);
	g_assert_true(config_hostname_match("WEB1", "Web*"));
}

static void
test_parse_values(void)
{
	struct {
		const char *keyword;
		const char *const args[3];
		const char *error; /* NULL: accepted */
		int number;
	} cases[] = {
		{ "port", { "ssh" }, NULL, 22 },
		{ "port", { "0" }, "Bad port '0'.", 0 },
		{ "stricthostkeychecking", { "accept-new" }, NULL, CONFIG_STRICT_NEW },
		{ "stricthostkeychecking", { "maybe" }, "unsupported option \"maybe\".", 0 },
		{ "connecttimeout", { "1h30m" }, NULL, 5400 },
		{ "connecttimeout", { "5x" }, "invalid time value.", 0 },
		{ "connectionattempts", { "-1" }, "integer value too small.", 0 },
		{ "numberofpasswordprompts", { "2" }, NULL, 2 },
		{ "rekeylimit", { "1G", "1h" }, NULL, 0 },
		{ "rekeylimit", { "8" }, "RekeyLimit too small", 0 },
		{ "ciphers", { "+aes128-cbc" }, NULL, 0 },
		{ "ciphers", { "aes*" }, "Bad SSH2 cipher spec 'aes*'.", 0 },
		{ "hostkeyalgorithms", { "ssh-ed25519*" }, NULL, 0 },
		{ "canonicaldomains", { "a..b" }, "consecutive separators", 0 },
		{ "user", { "a", "b" }, "keyword user extra arguments at end of line", 0 },
		{ "identityagent", { "$a-b" }, "Invalid environment name $a-b.", 0 },
		{ "identityagent", { "${X" }, "Invalid environment expansion ${X.", 0 },
		{ "identityagent", { "${UNSET}/a" }, "Invalid environment expansion ${UNSET}/a.", 0 },
		{ "identityagent", { "${SET}/a" }, NULL, 0 },
		{ "escapechar", { "^A" }, NULL, 1 },
		/* fuzz-config found a read past "" here (ASan) */
		{ "escapechar", { "" }, "Missing argument.", 0 },
		{ "setenv", { "NOEQUALS" }, "Invalid SetEnv.", 0 },
		{ "userknownhostsfile", { "a", "none" }, "\"none\" argument must appear alone", 0 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const ConfigKeyword *k = config_keyword_lookup(cases[i].keyword);
		ConfigValue value;
		g_autoptr(GError) error = NULL;
		g_assert_nonnull(k);
		const char *const env[] = { "SET=1", NULL };
		gboolean ok = config_keyword_parse(k, (char **)cases[i].args, "", "f", 3,
		                                   env, &value, &error);
		if (cases[i].error == NULL) {
			g_assert_no_error(error);
			g_assert_true(ok);
			if (cases[i].number != 0)
				g_assert_cmpint(value.number, ==, cases[i].number);
			config_value_clear(&value);
		} else {
			if (ok)
				g_error("%s %s: accepted", cases[i].keyword, cases[i].args[0]);
			g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
			g_assert_true(g_str_has_prefix(error->message, "f line 3: "));
			if (strstr(error->message, cases[i].error) == NULL)
				g_error("%s: \"%s\" lacks \"%s\"", cases[i].keyword,
				        error->message, cases[i].error);
		}
	}
}

static void
test_tokens(void)
{
	HopSpec hop = {
		.alias = "Alias", .hostname = "real.example", .user = "remote",
		.port = 2022, .local_user = "me", .home_dir = "/home/me",
	};
	const ConfigToken extra[] = { { 'H', "[real.example]:2022" }, { 't', "ssh-ed25519" },
	                              { 0, NULL } };
	const char *const env[] = { "AGENT=/run/a", NULL };
	g_autoptr(GError) error = NULL;

	g_autofree char *all = config_expand_tokens(
		"%d %h %k %n %p %r %u %% %H %t ${AGENT}", &hop, extra, env,
		"KnownHostsCommand", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(all, ==, "/home/me real.example Alias Alias 2022 remote me % "
	                "[real.example]:2022 ssh-ed25519 /run/a");
	/* %C is SHA1(%l%h%p%r) in hex, as ssh_connection_hash(). */
	g_autofree char *hash = config_expand_tokens("%C", &hop, NULL, NULL, "X", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(strlen(hash), ==, 40);
	/* 9.2 has no %j (it came in 9.4), nor %f without the extras. */
	g_autofree char *bad = config_expand_tokens("x%j", &hop, NULL, NULL,
	                                            "KnownHostsCommand", &error);
	g_assert_null(bad);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "KnownHostsCommand \"x%j\" for Alias: unknown token %j"));
	g_clear_error(&error);
	g_autofree char *unset = config_expand_tokens("${NOPE}", &hop, NULL, env, "X", &error);
	g_assert_null(unset);
	g_assert_nonnull(strstr(error->message, "${NOPE}"));
	g_clear_error(&error);
	g_autofree char *trailing = config_expand_tokens("a%", &hop, NULL, NULL, "X", &error);
	g_assert_null(trailing);
	g_clear_error(&error);
	/* Without an environment, ${ is left alone (keywords ssh does not
	 * dollar-expand). */
	g_autofree char *plain = config_expand_tokens("${HOME}", &hop, NULL, NULL, "X", &error);
	g_assert_cmpstr(plain, ==, "${HOME}");
}

static void
test_algorithms(void)
{
	struct {
		ConfigAlgoClass klass;
		const char *value;
		const char *want; /* NULL: refused */
	} cases[] = {
		{ CONFIG_ALGO_CIPHERS, "-chacha20-poly1305@openssh.com",
		  "aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com" },
		{ CONFIG_ALGO_CIPHERS, "^aes256-gcm@openssh.com",
		  "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
		  "aes256-ctr,aes128-gcm@openssh.com" },
		{ CONFIG_ALGO_CIPHERS, "+3des-cbc",
		  "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
		  "aes128-gcm@openssh.com,aes256-gcm@openssh.com,3des-cbc" },
		{ CONFIG_ALGO_CIPHERS, "aes256-ctr,aes128-ctr,aes256-ctr", "aes256-ctr,aes128-ctr" },
		{ CONFIG_ALGO_CIPHERS, "-*", "" },
		{ CONFIG_ALGO_HOSTKEY, "rsa-sha2-*", "rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,"
	  "rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com" },
		{ CONFIG_ALGO_HOSTKEY, "!ssh-rsa", NULL },
		{ CONFIG_ALGO_MACS, "-*etm@openssh.com",
		  "umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = config_algorithms_assemble(cases[i].klass, cases[i].value);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
	g_assert_true(config_algorithms_valid(CONFIG_ALGO_CIPHERS, "-anything"));
	g_assert_false(config_algorithms_valid(CONFIG_ALGO_CIPHERS, "+no-such"));
	g_assert_false(config_algorithms_valid(CONFIG_ALGO_KEX, ""));
	g_assert_true(config_algorithms_valid(CONFIG_ALGO_PUBKEY, "ecdsa-*,!ecdsa-sha2-nistp521"));
	g_autofree char *umac = config_algorithms_for_libssh(CONFIG_ALGO_MACS,
		"umac-64@openssh.com,hmac-sha1,hmac-md5");
	g_assert_cmpstr(umac, ==, "hmac-sha1");
	g_autofree char *certs = config_algorithms_for_libssh(CONFIG_ALGO_HOSTKEY,
		"ssh-ed25519-cert-v01@openssh.com,ssh-ed25519");
	g_assert_cmpstr(certs, ==, "ssh-ed25519");
}

/* config_resolve() over one ~/.ssh/config text, in a fresh home. */
typedef struct {
	char *root;
	char *home;
} Home;

static ChainSpec *
resolve_text(Home *h, const char *text, const char *destination,
             const ConfigRequest *extra, GError **error)
{
	g_autoptr(GError) local = NULL;
	h->root = g_dir_make_tmp("jumpfs-test-keywords-XXXXXX", &local);
	g_assert_no_error(local);
	h->home = g_build_filename(h->root, "home", NULL);
	g_autofree char *ssh = g_build_filename(h->home, ".ssh", NULL);
	g_assert_cmpint(g_mkdir_with_parents(ssh, 0700), ==, 0);
	g_autofree char *config = g_build_filename(ssh, "config", NULL);
	g_assert_true(g_file_set_contents(config, text, -1, NULL));
	g_assert_cmpint(g_chmod(config, 0600), ==, 0);
	ConfigRequest request = extra != NULL ? *extra : (ConfigRequest){ 0 };
	request.destination = destination;
	request.home_dir = h->home;
	request.local_user = "localuser";
	request.system_config = "/nonexistent/ssh_config";
	return config_resolve(&request, error);
}

static void
home_clear(Home *h)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", h->root);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(h->root);
	g_free(h->home);
}

/* Match exec runs in the requester's environment and directory. */
static void
test_match_exec(void)
{
	const char *const env[] = { "SHELL=/bin/sh", "MARK=yes", "PATH=/usr/bin:/bin", NULL };
	ConfigRequest extra = { .environment = env, .working_dir = "/tmp" };
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = resolve_text(&h,
		"Match exec \"test $MARK = yes && test $(pwd) = /tmp && test %h = t\"\n"
		"  User fromexec\n"
		"Match exec false\n  Port 9\n", "t", &extra, &error);
	g_assert_no_error(error);
	const HopSpec *hop = chain->hops->pdata[0];
	g_assert_cmpstr(hop->user, ==, "fromexec");
	g_assert_cmpint(hop->port, ==, 22);
	home_clear(&h);
}

/* %h from HostName with shell metacharacters never reaches a shell. */
static void
test_match_exec_refuses_metacharacters(void)
{
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = resolve_text(&h,
		"Host t\n  HostName a$(touch${IFS}x)\nMatch exec \"true %h\"\n  User u\n",
		"t", NULL, &error);
	g_assert_null(chain);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "line 3: Match exec: %h"));
	home_clear(&h);
}

static gboolean
fake_resolve(const char *name, int family, char **canonical, gpointer data)
{
	(void)family;
	g_ptr_array_add(data, g_strdup(name));
	*canonical = NULL;
	if (strcmp(name, "web.corp.example.") == 0)
		*canonical = g_strdup("web-lb.cdn.example.net");
	return strcmp(name, "web.corp.example.") == 0 ||
	       strcmp(name, "db.corp.example.") == 0 || strcmp(name, "a.b.c") == 0;
}

/* Domains tried in order, the CNAME rule, and the final pass matching the
 * canonical name; the resolver is the test's, so nothing goes to DNS. */
static void
test_canonicalize(void)
{
	g_autoptr(GPtrArray) asked = g_ptr_array_new_with_free_func(g_free);
	ConfigRequest extra = { .resolve = fake_resolve, .resolve_data = asked };
	const char *config =
		"CanonicalizeHostname yes\n"
		"CanonicalDomains other.example corp.example\n"
		"CanonicalizePermittedCNAMEs *.corp.example:*.cdn.example.net\n"
		"Host *.cdn.example.net\n  User cdn\n"
		"Host db.corp.example\n  User db\n";
	struct { const char *dest, *host, *user; } cases[] = {
		{ "web", "web-lb.cdn.example.net", "cdn" },
		{ "db", "db.corp.example", "db" },
		{ "a.b.c", "a.b.c", "localuser" },  /* more dots than MaxDots */
		{ "nothere", NULL, NULL },          /* fallback, then the CNAME
		                                       rules look it up: fails */
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Home h;
		g_autoptr(GError) error = NULL;
		g_ptr_array_set_size(asked, 0);
		g_autoptr(ChainSpec) chain = resolve_text(&h, config, cases[i].dest, &extra, &error);
		if (cases[i].host == NULL) {
			g_assert_null(chain);
			g_assert_nonnull(strstr(error->message, "Could not resolve hostname nothere"));
			home_clear(&h);
			continue;
		}
		g_assert_no_error(error);
		const HopSpec *hop = chain->hops->pdata[0];
		g_assert_cmpstr(hop->hostname, ==, cases[i].host);
		g_assert_cmpstr(hop->user, ==, cases[i].user);
		g_assert_cmpint(hop->canonicalize_hostname, ==, 1);
		if (strcmp(cases[i].dest, "web") == 0) {
			g_assert_cmpuint(asked->len, ==, 2);
			g_assert_cmpstr(asked->pdata[0], ==, "web.other.example.");
		}
		if (strcmp(cases[i].dest, "a.b.c") == 0) /* only the bare name */
			g_assert_cmpuint(asked->len, ==, 1);
		home_clear(&h);
	}
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = resolve_text(&h,
		"CanonicalizeHostname yes\nCanonicalDomains corp.example\n"
		"CanonicalizeFallbackLocal no\n", "nothere", &extra, &error);
	g_assert_null(chain);
	g_assert_nonnull(strstr(error->message, "line 1: Could not resolve host \"nothere\""));
	home_clear(&h);
}

/* Every HopSpec field that a consumer reads, from one config. */
static void
test_hop_fields(void)
{
	const char *const env[] = { "SSH_AUTH_SOCK=/run/agent", "HOME=/h", NULL };
	ConfigRequest extra = { .environment = env };
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = resolve_text(&h,
		"Host t\n HostName T.Example\n CertificateFile ~/.ssh/%n-cert.pub\n"
		" IdentityAgent ${HOME}/agent-%r\n HostKeyAlias KeyAlias\n HashKnownHosts yes\n"
		" RevokedHostKeys ~/revoked\n KnownHostsCommand /bin/kh %H %t\n"
		" UpdateHostKeys no\n PreferredAuthentications publickey\n"
		" NumberOfPasswordPrompts 1\n GSSAPIAuthentication yes\n"
		" GSSAPIDelegateCredentials yes\n BindAddress 127.0.0.2\n BindInterface lo\n"
		" AddressFamily inet6\n ConnectionAttempts 4\n TCPKeepAlive no\n"
		" RekeyLimit 512M 30m\n ProxyCommand nc %h %p %r %n %k\n ProxyUseFdpass yes\n"
		" Ciphers aes256-ctr\n KexAlgorithms +diffie-hellman-group1-sha1\n"
		" HostKeyAlgorithms ssh-ed25519\n MACs hmac-sha1\n"
		" PubkeyAcceptedAlgorithms -ssh-ed25519*\n RequiredRSASize 3072\n"
		" IdentitiesOnly yes\n ConnectTimeout 5\n ServerAliveInterval 2\n"
		" ServerAliveCountMax 6\n BatchMode yes\n Compression yes\n", "t", &extra, &error);
	g_assert_no_error(error);
	const HopSpec *hop = chain->hops->pdata[0];
	g_assert_cmpstr(hop->hostname, ==, "t.example");
	g_assert_cmpuint(hop->certificate_files->len, ==, 1);
	g_autofree char *cert = g_build_filename(h.home, ".ssh/t-cert.pub", NULL);
	g_assert_cmpstr(hop->certificate_files->pdata[0], ==, cert);
	g_assert_cmpstr(hop->identity_agent, ==, "/h/agent-localuser");
	g_assert_cmpstr(hop->host_key_alias, ==, "keyalias");
	g_assert_true(hop->hash_known_hosts);
	/* ssh 9.2 expands nothing in RevokedHostKeys (9.3 began to). */
	g_assert_cmpstr(hop->revoked_host_keys, ==, "~/revoked");
	g_assert_cmpstr(hop->known_hosts_command, ==, "/bin/kh %H %t");
	g_assert_false(hop->update_host_keys);
	g_assert_cmpstr(hop->preferred_authentications, ==, "publickey");
	g_assert_cmpint(hop->number_of_password_prompts, ==, 1);
	g_assert_true(hop->gssapi_auth && hop->gssapi_delegate);
	g_assert_cmpstr(hop->bind_address, ==, "127.0.0.2");
	g_assert_cmpstr(hop->bind_interface, ==, "lo");
	g_assert_cmpint(hop->address_family, ==, AF_INET6);
	g_assert_cmpint(hop->connection_attempts, ==, 4);
	g_assert_false(hop->tcp_keep_alive);
	g_assert_cmpint(hop->rekey_limit_bytes, ==, 512 * 1024 * 1024);
	g_assert_cmpint(hop->rekey_limit_seconds, ==, 1800);
	g_assert_cmpstr(hop->proxy_command, ==, "nc t.example 22 localuser t keyalias");
	g_assert_true(hop->proxy_use_fdpass);
	g_assert_cmpstr(hop->ciphers, ==, "aes256-ctr");
	g_assert_true(hop->ciphers_from_config);
	g_assert_true(g_str_has_suffix(hop->kex_algorithms, ",diffie-hellman-group1-sha1"));
	g_assert_cmpstr(hop->hostkey_algorithms, ==, "ssh-ed25519");
	g_assert_cmpstr(hop->macs, ==, "hmac-sha1");
	g_autofree char *framed = g_strdup_printf(",%s", hop->pubkey_accepted_algorithms);
	g_assert_null(strstr(framed, ",ssh-ed25519"));
	g_assert_nonnull(strstr(hop->pubkey_accepted_algorithms, "sk-ssh-ed25519@"));
	g_assert_cmpint(hop->required_rsa_size, ==, 3072);
	g_assert_true(hop->identities_only && hop->batch_mode && hop->compression);
	g_assert_cmpint(hop->connect_timeout, ==, 5);
	g_assert_cmpint(hop->server_alive_interval, ==, 2);
	g_assert_cmpint(hop->server_alive_count_max, ==, 6);
	/* The session key tells a Ciphers change apart. */
	g_autofree char *key = hop_spec_session_key(hop);
	g_assert_nonnull(strstr(key, "ciphers=aes256-ctr"));
	g_assert_nonnull(strstr(key, "proxy_command=nc t.example"));
	home_clear(&h);
}

/* Nothing libssh can speak left: the error names the keyword and host. */
static void
test_no_algorithm_left(void)
{
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = resolve_text(&h, "Host t\n  MACs umac-64@openssh.com\n",
	                                          "t", NULL, &error);
	g_assert_null(chain);
	g_assert_nonnull(strstr(error->message, "line 2: macs: none of \"umac-64@openssh.com\""));
	g_assert_nonnull(strstr(error->message, "host t"));
	home_clear(&h);
}

/* A user config or a file it includes that others can write is refused,
 * as ssh refuses it; -F files themselves are not checked (ssh neither). */
static void
test_permissions(void)
{
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) ok = resolve_text(&h, "Include inc.conf\n", "t", NULL, &error);
	g_assert_no_error(error);
	g_autofree char *config = g_build_filename(h.home, ".ssh", "config", NULL);
	g_autofree char *inc = g_build_filename(h.home, ".ssh", "inc.conf", NULL);
	g_assert_true(g_file_set_contents(inc, "User u\n", -1, NULL));
	g_assert_cmpint(g_chmod(inc, 0602), ==, 0);
	ConfigRequest request = { .destination = "t", .home_dir = h.home,
	                          .local_user = "localuser",
	                          .system_config = "/nonexistent/ssh_config" };
	g_autoptr(ChainSpec) bad_inc = config_resolve(&request, &error);
	g_assert_null(bad_inc);
	g_assert_nonnull(strstr(error->message, "Bad owner or permissions on"));
	g_assert_nonnull(strstr(error->message, "inc.conf"));
	g_clear_error(&error);
	g_assert_cmpint(g_chmod(inc, 0600), ==, 0);
	g_assert_cmpint(g_chmod(config, 0606), ==, 0);
	g_autoptr(ChainSpec) bad_config = config_resolve(&request, &error);
	g_assert_null(bad_config);
	g_assert_nonnull(strstr(error->message, "Bad owner or permissions on"));
	g_clear_error(&error);
	request.config_file = config;
	g_autoptr(ChainSpec) with_f = config_resolve(&request, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(((HopSpec *)with_f->hops->pdata[0])->user, ==, "u");
	home_clear(&h);
}

/* config_print(): ssh -G's lines, the mount defaults, one line per hop. */
static void
test_print(void)
{
	Home h;
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) unused = resolve_text(&h,
		"Host t\n ProxyJump j\n Ciphers -chacha20-poly1305@openssh.com\n"
		"Host j\n User ju\n", "t", NULL, &error);
	g_assert_no_error(error);
	ConfigRequest request = { .destination = "t", .home_dir = h.home,
	                          .local_user = "localuser",
	                          .system_config = "/nonexistent/ssh_config" };
	g_autofree char *text = config_print(&request, TRUE, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(text, "host t\nuser localuser\nhostname t\nport 22\n"));
	g_assert_nonnull(strstr(text, "\nciphers aes128-ctr,aes192-ctr,aes256-ctr,"
	                        "aes128-gcm@openssh.com,aes256-gcm@openssh.com\n"));
	g_assert_nonnull(strstr(text, "\nserveraliveinterval 0\n"
	                        "# jumpfs: serveraliveinterval 15 (mount default)\n"));
	g_assert_nonnull(strstr(text, "# jumpfs: connecttimeout 30 (mount default)\n"));
	g_assert_nonnull(strstr(text, "\nproxyjump j\n"));
	g_assert_nonnull(strstr(text, "# jumpfs: hop 1/2 ju@j:22 (j)\n"));
	g_assert_nonnull(strstr(text, "# jumpfs: hop 2/2 localuser@t:22 (t)\n"));
	g_assert_null(strstr(text, "proxycommand"));
	home_clear(&h);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/config/keywords/table", test_table);
	g_test_add_func("/chain/config/keywords/parse-values", test_parse_values);
	g_test_add_func("/chain/config/patterns", test_patterns);
	g_test_add_func("/chain/config/tokens/expand", test_tokens);
	g_test_add_func("/chain/config/algorithms/assemble", test_algorithms);
	g_test_add_func("/chain/config/match/exec", test_match_exec);
	g_test_add_func("/chain/config/match/exec-metacharacters",
	                test_match_exec_refuses_metacharacters);
	g_test_add_func("/chain/config/canonicalize", test_canonicalize);
	g_test_add_func("/chain/config/hop/fields", test_hop_fields);
	g_test_add_func("/chain/config/algorithms/none-left", test_no_algorithm_left);
	g_test_add_func("/chain/config/permissions", test_permissions);
	g_test_add_func("/chain/config/print", test_print);
	return g_test_run();
}
