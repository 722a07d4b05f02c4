/* config_resolve(): ssh_config + command line -> hops, table-driven.
 *
 * Each case writes its files under a fresh temporary root: ROOT/home is
 * the home directory (config in ROOT/home/.ssh/config) and ROOT/ssh_config
 * the system config. "@HOME@" and "@ROOT@" in texts and expected values
 * stand for those directories. The local user is always "localuser". */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chain/config.h"
#include "chain/errors.h"

#define MAX_HOPS 5
#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_FILES ((const char *const[]){ NULL })

typedef struct {
	const char *alias;
	const char *hostname;
	const char *user;
	int port;
	const char *const *identities; /* NULL: not checked */
} ExpectHop;

typedef struct {
	const char *name;            /* test path below /chain/config/ */
	const char *config;          /* ~/.ssh/config; NULL: no file */
	const char *system;          /* system config; NULL: no file */
	const char *const *files;    /* more files: path below ROOT, text... */
	const char *destination;
	const char *jump;            /* -J */
	const char *config_file;     /* -F */
	int port;                    /* -p */
	const char *const *options;  /* -o */
	const char *error;           /* expected message part; NULL: success */
	ExpectHop hops[MAX_HOPS];    /* until alias NULL; none: not checked */
	void (*check)(const ChainSpec *chain, const char *home);
} ConfigCase;

static const char seed_config[] =
	"Host server2\n"
	"HostName XXX.XXX.XXX.XXX\n"
	"ProxyJump user1@jumphost1.whatever.org:22\n"
	"User anotherusername\n"
	"Host server3\n"
	"HostName XXX.XXX.XXX.XXX\n"
	"ProxyJump user1@jumphost1.whatever.org:22,user2@jumphost2.whatever.org:2222\n"
	"User anotherusername\n";

static HopSpec *
hop_at(const ChainSpec *chain, guint i)
{
	g_assert_cmpuint(i, <, chain->hops->len);
	return g_ptr_array_index(chain->hops, i);
}

static void
assert_list(GPtrArray *actual, const char *const *expected, const char *home)
{
	guint n = expected != NULL ? g_strv_length((char **)expected) : 0;
	g_assert_nonnull(actual);
	g_assert_cmpuint(actual->len, ==, n);
	for (guint i = 0; i < n; i++) {
		g_auto(GStrv) parts = g_strsplit(expected[i], "@HOME@", -1);
		g_autofree char *want = g_strjoinv(home, parts);
		g_assert_cmpstr(g_ptr_array_index(actual, i), ==, want);
	}
}

static void
check_defaults(const ChainSpec *chain, const char *home)
{
	HopSpec *hop = hop_at(chain, 0);
	/* OpenSSH's default key list when no IdentityFile is configured. */
	assert_list(hop->identity_files,
	            LIST("@HOME@/.ssh/id_rsa", "@HOME@/.ssh/id_ecdsa",
	                 "@HOME@/.ssh/id_ecdsa_sk", "@HOME@/.ssh/id_ed25519",
	                 "@HOME@/.ssh/id_ed25519_sk", "@HOME@/.ssh/id_xmss",
	                 "@HOME@/.ssh/id_dsa"), home);
	assert_list(hop->certificate_files, NO_FILES, home);
	assert_list(hop->user_known_hosts,
	            LIST("@HOME@/.ssh/known_hosts", "@HOME@/.ssh/known_hosts2"),
	            home);
	assert_list(hop->global_known_hosts,
	            LIST("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"),
	            home);
	g_assert_cmpint(hop->strict_host_key, ==, STRICT_HOSTKEY_ASK);
	g_assert_false(hop->identities_only);
	g_assert_cmpint(hop->connect_timeout, ==, 0);
	g_assert_cmpint(hop->server_alive_interval, ==, -1);
	g_assert_cmpint(hop->server_alive_count_max, ==, -1);
	/* OpenSSH's defaults less UMAC (MACs) and sntrup761 (kex). */
	g_assert_cmpstr(hop->ciphers, ==, "chacha20-poly1305@openssh.com,aes128-ctr,"
	                "aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com");
	g_assert_false(hop->ciphers_from_config);
	g_assert_cmpstr(hop->macs, ==, "hmac-sha2-256-etm@openssh.com,"
	                "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,"
	                "hmac-sha2-256,hmac-sha2-512,hmac-sha1");
	g_assert_cmpstr(hop->kex_algorithms, ==, "curve25519-sha256,"
	                "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
	                "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
	                "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
	                "diffie-hellman-group14-sha256");
	g_assert_nonnull(strstr(hop->pubkey_accepted_algorithms, "-cert-v01@openssh.com"));
	g_assert_null(strstr(hop->hostkey_algorithms, "-cert-v01@openssh.com"));
	g_assert_false(hop->compression);
	g_assert_false(hop->batch_mode);
	g_assert_true(hop->password_auth);
	g_assert_true(hop->kbdint_auth);
	g_assert_true(hop->pubkey_auth);
	g_assert_false(hop->gssapi_auth);
	g_assert_null(hop->proxy_command);
	g_assert_null(hop->host_key_alias);
	g_assert_true(hop->tcp_keep_alive);
	g_assert_true(hop->update_host_keys);
	g_assert_cmpint(hop->connection_attempts, ==, 1);
	g_assert_cmpint(hop->required_rsa_size, ==, 1024);
	g_assert_cmpint(hop->number_of_password_prompts, ==, 3);
	g_assert_cmpint(hop->address_family, ==, 0);
	g_assert_cmpstr(hop->preferred_authentications, ==,
	                "gssapi-with-mic,hostbased,publickey,keyboard-interactive,password");
	g_assert_cmpstr(hop->local_user, ==, "localuser");
	g_assert_cmpstr(hop->home_dir, ==, home);
}

static void
check_proxy_command(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpstr(hop_at(chain, 0)->proxy_command, ==, "nc t 22");
}

/* The seed's ProxyCommand form, tokens expanded with the final values. */
static void
check_proxy_seed(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpstr(hop_at(chain, 0)->proxy_command, ==,
	                "ssh -W xxx.xxx.xxx.xxx:22 jump");
}

static void
check_proxy_on_jump(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpstr(hop_at(chain, 0)->proxy_command, ==, "nc j 22");
	g_assert_null(hop_at(chain, 1)->proxy_command);
}

/* UserKnownHostsFile none leaves nowhere to record a key (not /dev/null);
 * a written-out HostKeyAlgorithms is kept in its order, a -/+ edit not. */
static void
check_known_hosts_none(const ChainSpec *chain, const char *home)
{
	(void)home;
	HopSpec *target = hop_at(chain, 1), *jump = hop_at(chain, 0);
	g_assert_cmpuint(target->user_known_hosts->len, ==, 0);
	g_assert_true(target->hostkey_algorithms_fixed);
	g_assert_cmpstr(target->hostkey_algorithms, ==, "ssh-ed25519,rsa-sha2-256");
	g_assert_cmpuint(jump->user_known_hosts->len, ==, 2);
	g_assert_false(jump->hostkey_algorithms_fixed);
	g_assert_true(g_str_has_prefix(jump->hostkey_algorithms, "ecdsa-sha2-nistp256,"));
}

static void
check_values(const ChainSpec *chain, const char *home)
{
	HopSpec *hop = hop_at(chain, 0);
	assert_list(hop->user_known_hosts,
	            LIST("@HOME@/.ssh/kh1", "@HOME@/kh-localuser-t.example"),
	            home);
	assert_list(hop->global_known_hosts, LIST("/dev/null"), home);
	g_assert_cmpint(hop->strict_host_key, ==, STRICT_HOSTKEY_ACCEPT_NEW);
	g_assert_true(hop->identities_only);
	g_assert_cmpint(hop->connect_timeout, ==, 90);
	g_assert_cmpint(hop->server_alive_interval, ==, 7200);
	g_assert_cmpint(hop->server_alive_count_max, ==, 5);
	g_assert_cmpstr(hop->ciphers, ==, "aes256-gcm@openssh.com,aes128-ctr");
	g_assert_true(hop->compression);
	g_assert_true(hop->batch_mode);
	g_assert_false(hop->password_auth);
	g_assert_false(hop->kbdint_auth);
	g_assert_false(hop->pubkey_auth);
}

static void
check_strict_no(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpint(hop_at(chain, 0)->strict_host_key, ==, STRICT_HOSTKEY_NO);
	g_assert_true(hop_at(chain, 0)->pubkey_auth); /* host-bound = yes */
}

/* ServerAliveInterval 0 written out is "off", as in ssh; only an unset
 * one gets the mount default (hop.c). */
static void
check_alive_off(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpint(hop_at(chain, 0)->server_alive_interval, ==, -1);
	g_assert_cmpint(hop_at(chain, 1)->server_alive_interval, ==, 0);
}

static void
check_ignored(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpint(hop_at(chain, 0)->server_alive_interval, ==, 15);
}

static void
check_ipv6_key(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_autofree char *first = hop_spec_key(hop_at(chain, 0));
	g_autofree char *second = hop_spec_key(hop_at(chain, 1));
	g_assert_cmpstr(first, ==, "v6user@[2001:db8::1]:2022");
	g_assert_cmpstr(second, ==, "localuser@[::1]:22");
}

static void
check_seventeen(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpuint(chain->hops->len, ==, 17);
	g_assert_cmpstr(hop_at(chain, 0)->alias, ==, "h1");
	g_assert_cmpstr(hop_at(chain, 16)->alias, ==, "t");
}

static void
check_syntax(const ChainSpec *chain, const char *home)
{
	(void)home;
	g_assert_cmpstr(hop_at(chain, 0)->ciphers, ==, "aes128-ctr");
}

#define HOP(a, h, u, p) { a, h, u, p, NULL }
#define HOPI(a, h, u, p, ...) { a, h, u, p, LIST(__VA_ARGS__) }
#define J16 "h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16"

static const ConfigCase cases[] = {
	/* The seed's blocks, exactly. */
	{ .name = "seed/server2", .config = seed_config, .destination = "server2",
	  .hops = { HOP("jumphost1.whatever.org", "jumphost1.whatever.org", "user1", 22),
	            HOP("server2", "xxx.xxx.xxx.xxx", "anotherusername", 22) } },
	{ .name = "seed/server3", .config = seed_config, .destination = "server3",
	  .hops = { HOP("jumphost1.whatever.org", "jumphost1.whatever.org", "user1", 22),
	            HOP("jumphost2.whatever.org", "jumphost2.whatever.org", "user2", 2222),
	            HOP("server3", "xxx.xxx.xxx.xxx", "anotherusername", 22) } },
	{ .name = "seed/unlisted-host", .config = seed_config,
	  .destination = "jumphost2.whatever.org",
	  .hops = { HOP("jumphost2.whatever.org", "jumphost2.whatever.org", "localuser", 22) } },

	/* Host patterns, matched against the alias as typed. */
	{ .name = "pattern/star", .config = "Host *.corp.example\n User corp\n Port 2201\n",
	  .destination = "db.corp.example",
	  .hops = { HOP("db.corp.example", "db.corp.example", "corp", 2201) } },
	{ .name = "pattern/star-no-match", .config = "Host *.corp.example\n User corp\n",
	  .destination = "corp.example",
	  .hops = { HOP("corp.example", "corp.example", "localuser", 22) } },
	{ .name = "pattern/question", .config = "Host web?\n User w\n", .destination = "web1",
	  .hops = { HOP("web1", "web1", "w", 22) } },
	{ .name = "pattern/question-no-match", .config = "Host web?\n User w\n",
	  .destination = "web10", .hops = { HOP("web10", "web10", "localuser", 22) } },
	{ .name = "pattern/list", .config = "Host alpha beta gamma\n User greek\n",
	  .destination = "beta", .hops = { HOP("beta", "beta", "greek", 22) } },
	/* OpenSSH matches Host patterns case-sensitively, then lowercases. */
	{ .name = "pattern/case", .config = "Host web\n User w\n", .destination = "WEB",
	  .hops = { HOP("WEB", "web", "localuser", 22) } },
	{ .name = "pattern/negation", .config = "Host * !bastion\n User everyone\n",
	  .destination = "bastion", .hops = { HOP("bastion", "bastion", "localuser", 22) } },
	{ .name = "pattern/negation-others", .config = "Host * !bastion\n User everyone\n",
	  .destination = "other", .hops = { HOP("other", "other", "everyone", 22) } },
	{ .name = "pattern/negation-first", .config = "Host !bastion *\n User everyone\n",
	  .destination = "bastion", .hops = { HOP("bastion", "bastion", "localuser", 22) } },
	{ .name = "pattern/alias-not-hostname",
	  .config = "Host short\n HostName long.example.org\nHost long.example.org\n User longuser\n",
	  .destination = "short",
	  .hops = { HOP("short", "long.example.org", "localuser", 22) } },

	/* First value wins, across blocks and files; Host * defaults. */
	{ .name = "first-wins/blocks",
	  .config = "Host app\n User first\nHost app*\n User second\n Port 2022\n",
	  .destination = "app", .hops = { HOP("app", "app", "first", 2022) } },
	{ .name = "first-wins/files", .config = "Host app\n User fromuser\n",
	  .system = "Host *\n User fromsystem\n Port 2200\n", .destination = "app",
	  .hops = { HOP("app", "app", "fromuser", 2200) } },
	{ .name = "host-star-defaults",
	  .config = "Host special\n Port 2022\nHost *\n User dflt\n Port 2200\n"
	            " IdentityFile ~/.ssh/id_default\n",
	  .destination = "special",
	  .hops = { HOPI("special", "special", "dflt", 2022, "@HOME@/.ssh/id_default") } },

	/* ProxyJump resolution, like ssh -J. */
	{ .name = "proxyjump/nested",
	  .config = "Host target\n HostName 10.0.0.5\n ProxyJump inner\n"
	            "Host inner\n HostName inner.internal\n User inneruser\n Port 2202\n"
	            " IdentityFile ~/.ssh/id_inner\n ProxyJump outer\n"
	            "Host outer\n HostName outer.example.org\n User outeruser\n"
	            " IdentityFile ~/.ssh/id_outer\n"
	            "Host *\n IdentityFile ~/.ssh/id_common\n",
	  .destination = "target",
	  .hops = { HOPI("outer", "outer.example.org", "outeruser", 22,
	                 "@HOME@/.ssh/id_outer", "@HOME@/.ssh/id_common"),
	            HOPI("inner", "inner.internal", "inneruser", 2202,
	                 "@HOME@/.ssh/id_inner", "@HOME@/.ssh/id_common"),
	            HOPI("target", "10.0.0.5", "localuser", 22, "@HOME@/.ssh/id_common") } },
	{ .name = "proxyjump/element-overrides-config",
	  .config = "Host target\n ProxyJump bob@jump:2022\n"
	            "Host jump\n HostName jump.example.org\n User alice\n Port 22\n",
	  .destination = "target",
	  .hops = { HOP("jump", "jump.example.org", "bob", 2022),
	            HOP("target", "target", "localuser", 22) } },
	{ .name = "proxyjump/element-keeps-config",
	  .config = "Host target\n ProxyJump jump\nHost jump\n User alice\n Port 2200\n",
	  .destination = "target",
	  .hops = { HOP("jump", "jump", "alice", 2200), HOP("target", "target", "localuser", 22) } },
	{ .name = "proxyjump/rest-overrides-own",
	  .config = "Host target\n ProxyJump a,b\nHost b\n ProxyJump c\n User buser\n",
	  .destination = "target",
	  .hops = { HOP("a", "a", "localuser", 22), HOP("b", "b", "buser", 22),
	            HOP("target", "target", "localuser", 22) } },
	{ .name = "proxyjump/single-uses-own",
	  .config = "Host target\n ProxyJump b\nHost b\n ProxyJump c\nHost c\n Port 2222\n",
	  .destination = "target",
	  .hops = { HOP("c", "c", "localuser", 2222), HOP("b", "b", "localuser", 22),
	            HOP("target", "target", "localuser", 22) } },
	{ .name = "proxyjump/first-element-own",
	  .config = "Host target\n ProxyJump a,b\nHost a\n ProxyJump z\n",
	  .destination = "target",
	  .hops = { HOP("z", "z", "localuser", 22), HOP("a", "a", "localuser", 22),
	            HOP("b", "b", "localuser", 22), HOP("target", "target", "localuser", 22) } },
	{ .name = "proxyjump/none",
	  .config = "Host target\n ProxyJump none\nHost * !gateway\n ProxyJump gateway\n",
	  .destination = "target", .hops = { HOP("target", "target", "localuser", 22) } },
	{ .name = "proxyjump/host-star",
	  .config = "Host target\n ProxyJump none\nHost * !gateway\n ProxyJump gateway\n",
	  .destination = "other",
	  .hops = { HOP("gateway", "gateway", "localuser", 22), HOP("other", "other", "localuser", 22) } },
	{ .name = "proxyjump/uri",
	  .config = "Host t\n ProxyJump ssh://ju@j1.example:2200,ssh://j2.example/\n",
	  .destination = "t",
	  .hops = { HOP("j1.example", "j1.example", "ju", 2200),
	            HOP("j2.example", "j2.example", "localuser", 22), HOP("t", "t", "localuser", 22) } },
	{ .name = "proxyjump/ipv6",
	  .config = "Host t\n ProxyJump v6user@[2001:db8::1]:2022,[::1]\n",
	  .destination = "t",
	  .hops = { HOP("2001:db8::1", "2001:db8::1", "v6user", 2022), HOP("::1", "::1", "localuser", 22),
	            HOP("t", "t", "localuser", 22) },
	  .check = check_ipv6_key },
	{ .name = "proxyjump/bad-element", .config = "Host t\n ProxyJump j1,user@\n",
	  .destination = "t", .error = "@HOME@/.ssh/config line 2: Invalid ProxyJump \"j1,user@\"" },
	{ .name = "proxyjump/bad-ipv6", .config = "Host t\n ProxyJump ::1\n",
	  .destination = "t", .error = "line 2: Invalid ProxyJump \"::1\"" },
	{ .name = "jump/override", .config = "Host target\n ProxyJump configjump\n",
	  .destination = "target", .jump = "cli1,cli2:2200,cli3",
	  .hops = { HOP("cli1", "cli1", "localuser", 22), HOP("cli2", "cli2", "localuser", 2200),
	            HOP("cli3", "cli3", "localuser", 22), HOP("target", "target", "localuser", 22) } },
	{ .name = "jump/none", .config = "Host target\n ProxyJump configjump\n",
	  .destination = "target", .jump = "none",
	  .hops = { HOP("target", "target", "localuser", 22) } },
	{ .name = "jump/bad", .destination = "t", .jump = "a,,b", .error = "Invalid -J argument" },

	/* Destination forms and command-line values. */
	{ .name = "destination/uri", .destination = "ssh://uriuser@host.example:2022",
	  .hops = { HOP("host.example", "host.example", "uriuser", 2022) } },
	{ .name = "destination/uri-port-vs-p", .destination = "ssh://h:2022", .port = 2200,
	  .hops = { HOP("h", "h", "localuser", 2200) } },
	{ .name = "destination/uri-vs-config", .config = "Host h\n Port 2200\n",
	  .destination = "ssh://h:2022", .hops = { HOP("h", "h", "localuser", 2022) } },
	{ .name = "destination/last-at", .destination = "first@second@host",
	  .hops = { HOP("host", "host", "first@second", 22) } },
	{ .name = "destination/user-beats-config", .config = "Host h\n User cfguser\n",
	  .destination = "me@h", .hops = { HOP("h", "h", "me", 22) } },
	{ .name = "destination/empty-host", .destination = "user@", .error = "bad destination" },
	{ .name = "cmdline/port",
	  .config = "Host t\n Port 2022\n ProxyJump j\nHost j\n Port 2023\n",
	  .destination = "t", .port = 2200,
	  .hops = { HOP("j", "j", "localuser", 2023), HOP("t", "t", "localuser", 2200) } },
	{ .name = "cmdline/options-target-only",
	  .config = "Host t\n User cfg\n Port 22\n ProxyJump j\n IdentityFile ~/.ssh/id_cfg\n",
	  .destination = "t",
	  .options = LIST("User=optuser", "Port 2201", "IdentityFile = ~/.ssh/id_opt"),
	  .hops = { HOP("j", "j", "localuser", 22),
	            HOPI("t", "t", "optuser", 2201, "@HOME@/.ssh/id_opt", "@HOME@/.ssh/id_cfg") } },
	{ .name = "cmdline/option-user-beats-destination", .destination = "dest@t",
	  .options = LIST("User=opt"), .hops = { HOP("t", "t", "opt", 22) } },
	{ .name = "cmdline/p-beats-option-port", .destination = "t", .port = 2200,
	  .options = LIST("Port=2201"), .hops = { HOP("t", "t", "localuser", 2200) } },
	{ .name = "cmdline/option-proxyjump", .destination = "t",
	  .options = LIST("ProxyJump=j"),
	  .hops = { HOP("j", "j", "localuser", 22), HOP("t", "t", "localuser", 22) } },
	{ .name = "cmdline/option-unknown", .destination = "t", .options = LIST("Frobnicate=1"),
	  .error = "-o \"Frobnicate=1\": Bad configuration option: frobnicate" },
	{ .name = "cmdline/option-proxycommand", .destination = "t",
	  .options = LIST("ProxyCommand=nc %h %p"),
	  .hops = { HOP("t", "t", "localuser", 22) }, .check = check_proxy_command },
	{ .name = "cmdline/option-host", .destination = "t", .options = LIST("Host=x"),
	  .error = "Host directive not supported as a command-line option" },

	/* IdentityFile: accumulation and expansion with final values. */
	{ .name = "identity/expand",
	  .config = "Host t\n HostName t.example.org\n User remote\n"
	            " IdentityFile ~/.ssh/id_%r@%h\n IdentityFile %d/keys/%u-%n-%p\n"
	            " IdentityFile /abs/100%%\n IdentityFile ~localuser/k\n",
	  .destination = "t", .port = 2022,
	  .hops = { HOPI("t", "t.example.org", "remote", 2022, "@HOME@/.ssh/id_remote@t.example.org",
	                 "@HOME@/keys/localuser-t-2022", "/abs/100%", "@HOME@/k") } },
	{ .name = "identity/expand-final-values",
	  .config = "Host t\n IdentityFile ~/.ssh/id_%r_%h\nHost *\n User late\n HostName late.example\n",
	  .destination = "t",
	  .hops = { HOPI("t", "late.example", "late", 22, "@HOME@/.ssh/id_late_late.example") } },
	{ .name = "identity/accumulate",
	  .config = "Host t\n IdentityFile ~/.ssh/a\nHost t*\n IdentityFile ~/.ssh/b\n"
	            " IdentityFile ~/.ssh/a\n",
	  .destination = "t", .hops = { HOPI("t", "t", "localuser", 22, "@HOME@/.ssh/a", "@HOME@/.ssh/b") } },
	{ .name = "identity/bad-token", .config = "Host t\n IdentityFile ~/.ssh/id_%z\n",
	  .destination = "t",
	  .error = "@HOME@/.ssh/config line 2: IdentityFile \"~/.ssh/id_%z\": unknown token %z (host t)" },
	{ .name = "hostname/expand", .config = "Host *.lan\n HostName %h.example.org\n",
	  .destination = "nas.lan", .hops = { HOP("nas.lan", "nas.lan.example.org", "localuser", 22) } },
	{ .name = "hostname/bad-token", .config = "Host t\n HostName %r.x\n",
	  .destination = "t", .error = "line 2: HostName \"%r.x\": unknown token %r" },

	/* Include. */
	{ .name = "include/glob-relative", .config = "Include conf.d/*.conf\n",
	  .files = LIST("home/.ssh/conf.d/10-a.conf", "Host a\n User ua\n",
	                "home/.ssh/conf.d/20-b.conf", "Host a\n User ub\n Port 2022\n",
	                "home/.ssh/conf.d/skip.txt", "Host a\n Port 9\n"),
	  .destination = "a", .hops = { HOP("a", "a", "ua", 2022) } },
	{ .name = "include/nested", .config = "Include ~/.ssh/level1\n",
	  .files = LIST("home/.ssh/level1", "Include @HOME@/.ssh/level2\nHost n\n Port 2001\n",
	                "home/.ssh/level2", "Host n\n User deep\n"),
	  .destination = "n", .hops = { HOP("n", "n", "deep", 2001) } },
	{ .name = "include/in-host-block",
	  .config = "Host other\n Include inc1.conf\nHost t\n Include inc2.conf\n Port 2022\n",
	  .files = LIST("home/.ssh/inc1.conf", "User wrong\nHost *\n Port 9999\n",
	                "home/.ssh/inc2.conf", "User right\nHost nomatch\n"),
	  .destination = "t", .hops = { HOP("t", "t", "right", 2022) } },
	{ .name = "include/missing-ok", .config = "Include nothere.conf\nHost t\n User u\n",
	  .destination = "t", .hops = { HOP("t", "t", "u", 22) } },
	{ .name = "include/system-relative", .system = "Include sys.d/*.conf\n",
	  .files = LIST("sys.d/a.conf", "Host t\n User sysuser\n"),
	  .destination = "t", .hops = { HOP("t", "t", "sysuser", 22) } },
	{ .name = "include/system-tilde-refused", .system = "Include ~/x\n", .destination = "t",
	  .error = "@ROOT@/ssh_config line 1: bad include path ~/x." },
	{ .name = "include/loop", .config = "Include a.conf\n",
	  .files = LIST("home/.ssh/a.conf", "Include b.conf\n", "home/.ssh/b.conf", "\nInclude a.conf\n"),
	  .destination = "t",
	  .error = "@HOME@/.ssh/b.conf line 2: Include loop: @HOME@/.ssh/a.conf is already being read" },
	{ .name = "include/self", .config = "Include config\n", .destination = "t",
	  .error = "Include loop" },
	{ .name = "include/command-line", .destination = "t", .options = LIST("Include=x"),
	  .error = "Include directive not supported as a command-line option" },

	/* Refused and unknown keywords. */
	{ .name = "match/host", .config = "Host a\n User u\nMatch host t\n User v\n",
	  .destination = "other", .hops = { HOP("other", "other", "localuser", 22) } },
	{ .name = "proxycommand/seed",
	  .config = "Host server3\n HostName XXX.XXX.XXX.XXX\n ProxyCommand ssh -W %h:%p jump\n",
	  .destination = "server3", .hops = { HOP("server3", "xxx.xxx.xxx.xxx", "localuser", 22) },
	  .check = check_proxy_seed },
	{ .name = "proxycommand/on-jump-host",
	  .config = "Host t\n ProxyJump j\nHost j\n ProxyCommand nc %h %p\n", .destination = "t",
	  .hops = { HOP("j", "j", "localuser", 22), HOP("t", "t", "localuser", 22) },
	  .check = check_proxy_on_jump },
	{ .name = "proxycommand/none-first-wins",
	  .config = "Host t\n ProxyCommand none\nHost * !j\n ProxyJump j\n", .destination = "t",
	  .hops = { HOP("t", "t", "localuser", 22) } },
	{ .name = "proxycommand/after-proxyjump",
	  .config = "Host t\n ProxyJump j\n ProxyCommand nc %h %p\n", .destination = "t",
	  .hops = { HOP("j", "j", "localuser", 22), HOP("t", "t", "localuser", 22) } },
	{ .name = "proxycommand/overridden-by-J", .config = "Host t\n ProxyCommand nc %h %p\n",
	  .destination = "t", .jump = "j",
	  .hops = { HOP("j", "j", "localuser", 22), HOP("t", "t", "localuser", 22) } },
	{ .name = "unknown/error", .config = "Host t\n Frobnicate yes\n", .destination = "t",
	  .error = "@HOME@/.ssh/config line 2: Bad configuration option: frobnicate" },
	{ .name = "unknown/inactive-block", .config = "Host other\n Frobnicate yes\n",
	  .destination = "t", .error = "line 2: Bad configuration option: frobnicate" },
	{ .name = "unknown/ignored",
	  .config = "IgnoreUnknown Frob*,Other\nHost t\n Frobnicate yes\n User u\n",
	  .destination = "t", .hops = { HOP("t", "t", "u", 22) } },
	{ .name = "unknown/ignore-too-late",
	  .config = "Host t\n Frobnicate yes\n IgnoreUnknown Frobnicate\n", .destination = "t",
	  .error = "line 2: Bad configuration option: frobnicate" },
	{ .name = "unknown/ignore-inactive",
	  .config = "Host other\n IgnoreUnknown Frobnicate\nHost t\n Frobnicate yes\n",
	  .destination = "t", .error = "line 4: Bad configuration option: frobnicate" },
	{ .name = "ignored/known-keywords",
	  .config = "Host t\n ForwardAgent yes\n ControlMaster auto\n ControlPath ~/.ssh/cm-%r@%h:%p\n"
	            " SendEnv LANG LC_*\n LogLevel QUIET\n ServerAliveInterval 15\n"
	            " AddKeysToAgent yes\n HashKnownHosts yes\n",
	  .destination = "t", .hops = { HOP("t", "t", "localuser", 22) }, .check = check_ignored },

	/* Loops and depth. */
	{ .name = "loop/direct", .config = "Host a\n ProxyJump a\n", .destination = "a",
	  .error = "line 2: jumphost loop via a" },
	{ .name = "loop/indirect", .config = "Host a\n ProxyJump b\nHost b\n ProxyJump a\n",
	  .destination = "a", .error = "jump host loop" },
	{ .name = "loop/same-host-other-alias",
	  .config = "Host t\n ProxyJump alias\nHost alias\n HostName t\n", .destination = "t",
	  .error = "jump host loop: localuser@t:22 (alias)" },
	{ .name = "loop/cli", .destination = "t", .jump = "x,t", .error = "-J: jumphost loop via t" },
	{ .name = "depth/sixteen-ok", .destination = "t", .jump = J16, .check = check_seventeen },
	{ .name = "depth/seventeen-refused", .destination = "t", .jump = "h0," J16,
	  .error = "too many jump hosts (more than 16)" },

	/* Which files are read. */
	{ .name = "file/missing-F", .config = "Host t\n User u\n", .destination = "t",
	  .config_file = "@ROOT@/nope", .error = "Can't open user config file @ROOT@/nope" },
	{ .name = "file/F-only", .config = "Host t\n User fromuser\n",
	  .system = "Host *\n Port 2200\n", .files = LIST("alt", "Host t\n User fromalt\n"),
	  .destination = "t", .config_file = "@ROOT@/alt", .hops = { HOP("t", "t", "fromalt", 22) } },
	{ .name = "file/F-none", .config = "Host t\n User fromuser\n", .destination = "t",
	  .config_file = "none", .hops = { HOP("t", "t", "localuser", 22) } },
	{ .name = "file/F-for-every-hop", .files = LIST("alt", "Host j\n User ju\n Port 2022\n"),
	  .destination = "t", .jump = "j", .config_file = "@ROOT@/alt",
	  .hops = { HOP("j", "j", "ju", 2022), HOP("t", "t", "localuser", 22) } },

	/* Defaults and values. */
	{ .name = "defaults", .destination = "plain",
	  .hops = { HOP("plain", "plain", "localuser", 22) }, .check = check_defaults },
	{ .name = "values",
	  .config = "Host t\n HostName t.example\n StrictHostKeyChecking accept-new\n"
	            " IdentitiesOnly yes\n ConnectTimeout 1m30s\n ServerAliveInterval 2h\n"
	            " ServerAliveCountMax 5\n Ciphers aes256-gcm@openssh.com,aes128-ctr\n"
	            " Compression yes\n BatchMode true\n PasswordAuthentication no\n"
	            " ChallengeResponseAuthentication no\n PubkeyAuthentication no\n"
	            " UserKnownHostsFile ~/.ssh/kh1 %d/kh-%u-%h\n UserKnownHostsFile /ignored\n"
	            " GlobalKnownHostsFile none\n StrictHostKeyChecking no\n",
	  .destination = "t", .check = check_values },
	{ .name = "values/known-hosts-none",
	  .config = "Host t\n UserKnownHostsFile none\n HostKeyAlgorithms ssh-ed25519,rsa-sha2-256\n"
	            " ProxyJump j\nHost j\n HostKeyAlgorithms -ssh-ed25519\n",
	  .destination = "t", .check = check_known_hosts_none },
	{ .name = "values/alive-off",
	  .config = "Host t\n ServerAliveInterval 0\n ProxyJump j\n",
	  .destination = "t", .check = check_alive_off },
	{ .name = "values/strict-off", .config = "StrictHostKeyChecking off\n"
	  "PubkeyAuthentication host-bound\n", .destination = "t", .check = check_strict_no },

	/* Line syntax. */
	{ .name = "syntax/forms",
	  .config = "# comment\n\n   HOST=t   \n\tuser = \"quoted user\"\r\n"
	            "PORT  2022 # trailing comment\r\nCiphers=aes128-ctr\n"
	            "IdentityFile \"~/.ssh/my key\"\nIdentityFile ~/.ssh/back\\ slash\n",
	  .destination = "t",
	  .hops = { HOPI("t", "t", "quoted user", 2022, "@HOME@/.ssh/my key", "@HOME@/.ssh/back slash") },
	  .check = check_syntax },
	{ .name = "syntax/bad-port", .config = "Port 70000\n", .destination = "t",
	  .error = "line 1: Bad port '70000'." },
	{ .name = "syntax/bad-value-inactive", .config = "Host other\n BatchMode maybe\n",
	  .destination = "t", .error = "line 2: unsupported option \"maybe\"." },
	{ .name = "syntax/bad-quotes", .config = "User \"abc\n", .destination = "t",
	  .error = "line 1: invalid quotes" },
	{ .name = "syntax/no-argument", .config = "Host t\nUser\n", .destination = "t",
	  .error = "line 2: no argument after keyword \"user\"" },
	{ .name = "syntax/extra-arguments", .config = "User a b\n", .destination = "t",
	  .error = "line 1: keyword user extra arguments at end of line" },
	{ .name = "syntax/bad-time", .config = "ConnectTimeout 5x\n", .destination = "t",
	  .error = "line 1: invalid time value." },
};

static char *
substitute(const char *text, const char *root, const char *home)
{
	if (text == NULL)
		return NULL;
	g_auto(GStrv) by_home = g_strsplit(text, "@HOME@", -1);
	g_autofree char *with_home = g_strjoinv(home, by_home);
	g_auto(GStrv) by_root = g_strsplit(with_home, "@ROOT@", -1);
	return g_strjoinv(root, by_root);
}

static void
write_file(const char *path, const char *text)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_autoptr(GError) error = NULL;
	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
}

static void
remove_tree(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	if (dir != NULL) {
		const char *name;
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				g_unlink(child);
		}
		g_dir_close(dir);
	}
	g_rmdir(path);
}

/* A temporary root with home/.ssh in it. */
typedef struct {
	char *root;
	char *home;
	char *system;
} Sandbox;

static void
sandbox_init(Sandbox *box)
{
	g_autoptr(GError) error = NULL;
	box->root = g_dir_make_tmp("jumpfs-test-config-XXXXXX", &error);
	g_assert_no_error(error);
	box->home = g_build_filename(box->root, "home", NULL);
	box->system = g_build_filename(box->root, "ssh_config", NULL);
	g_autofree char *ssh_dir = g_build_filename(box->home, ".ssh", NULL);
	g_assert_cmpint(g_mkdir_with_parents(ssh_dir, 0700), ==, 0);
}

static void
sandbox_write(const Sandbox *box, const char *relative, const char *text)
{
	g_autofree char *path = g_build_filename(box->root, relative, NULL);
	g_autofree char *content = substitute(text, box->root, box->home);
	write_file(path, content);
}

static void
sandbox_clear(Sandbox *box)
{
	remove_tree(box->root);
	g_free(box->root);
	g_free(box->home);
	g_free(box->system);
}

static void
run_case(gconstpointer data)
{
	const ConfigCase *tc = data;
	Sandbox box;

	sandbox_init(&box);
	if (tc->config != NULL)
		sandbox_write(&box, "home/.ssh/config", tc->config);
	if (tc->system != NULL)
		sandbox_write(&box, "ssh_config", tc->system);
	for (gsize i = 0; tc->files != NULL && tc->files[i] != NULL; i += 2)
		sandbox_write(&box, tc->files[i], tc->files[i + 1]);

	g_autofree char *config_file = substitute(tc->config_file, box.root, box.home);
	ConfigRequest request = {
		.destination = tc->destination, .jump = tc->jump,
		.config_file = config_file, .port = tc->port, .options = tc->options,
		.home_dir = box.home, .local_user = "localuser",
		.system_config = box.system,
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = config_resolve(&request, &error);

	if (tc->error != NULL) {
		g_autofree char *want = substitute(tc->error, box.root, box.home);
		g_assert_null(chain);
		g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
		if (strstr(error->message, want) == NULL)
			g_error("error \"%s\" lacks \"%s\"", error->message, want);
	} else {
		g_assert_no_error(error);
		g_assert_nonnull(chain);
		guint n = 0;
		while (n < MAX_HOPS && tc->hops[n].alias != NULL)
			n++;
		if (n > 0)
			g_assert_cmpuint(chain->hops->len, ==, n);
		for (guint i = 0; i < n; i++) {
			const ExpectHop *want = &tc->hops[i];
			const HopSpec *hop = hop_at(chain, i);
			g_assert_cmpstr(hop->alias, ==, want->alias);
			g_assert_cmpstr(hop->hostname, ==, want->hostname);
			g_assert_cmpstr(hop->user, ==, want->user);
			g_assert_cmpint(hop->port, ==, want->port);
			if (want->identities != NULL)
				assert_list(hop->identity_files,
				            want->identities[0] != NULL ? want->identities : NO_FILES,
				            box.home);
		}
		if (tc->check != NULL)
			tc->check(chain, box.home);
	}
	sandbox_clear(&box);
}

/* Include depth: 16 nested levels are read, 17 are refused. */
static void
test_include_depth(void)
{
	for (int levels = 16; levels <= 17; levels++) {
		Sandbox box;
		sandbox_init(&box);
		sandbox_write(&box, "home/.ssh/config", "Include inc1\n");
		for (int i = 1; i <= levels; i++) {
			g_autofree char *name = g_strdup_printf("home/.ssh/inc%d", i);
			g_autofree char *text = i < levels
				? g_strdup_printf("Include inc%d\n", i + 1)
				: g_strdup("User deepest\n");
			sandbox_write(&box, name, text);
		}
		ConfigRequest request = { .destination = "t", .home_dir = box.home,
		                          .local_user = "localuser",
		                          .system_config = box.system };
		g_autoptr(GError) error = NULL;
		g_autoptr(ChainSpec) chain = config_resolve(&request, &error);
		if (levels == 16) {
			g_assert_no_error(error);
			g_assert_cmpstr(hop_at(chain, 0)->user, ==, "deepest");
		} else {
			g_assert_null(chain);
			g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
			g_assert_nonnull(strstr(error->message,
			                        "Too many recursive configuration includes"));
			g_assert_nonnull(strstr(error->message, "inc16 line 1"));
		}
		sandbox_clear(&box);
	}
}

static void
test_hop_key_copy(void)
{
	ConfigRequest request = {
		.destination = "t", .config_file = "none", .jump = "ju@[::1]:2222",
		.options = LIST("IdentityFile=/k1", "Ciphers=aes128-ctr"),
		.home_dir = "/nonexistent-home", .local_user = "localuser",
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = config_resolve(&request, &error);
	g_assert_no_error(error);

	g_autofree char *jump_key = hop_spec_key(hop_at(chain, 0));
	g_assert_cmpstr(jump_key, ==, "ju@[::1]:2222");
	HopSpec *copy = hop_spec_copy(hop_at(chain, 1));
	g_autofree char *key = hop_spec_key(copy);
	g_assert_cmpstr(key, ==, "localuser@t:22");
	g_assert_true(copy->identity_files != hop_at(chain, 1)->identity_files);
	assert_list(copy->identity_files, LIST("/k1"), "");
	assert_list(copy->user_known_hosts,
	            LIST("/nonexistent-home/.ssh/known_hosts",
	                 "/nonexistent-home/.ssh/known_hosts2"), "");
	g_assert_cmpstr(copy->ciphers, ==, "aes128-ctr");
	g_assert_true(copy->ciphers != hop_at(chain, 1)->ciphers);
	hop_spec_free(copy);
	hop_spec_free(NULL);
	chain_spec_free(NULL);
}

/* -o keepalive and timeout options reach the jump hosts too (unlike ssh),
 * but the jump hosts' own config still comes after them. */
static void
test_chain_wide_options(void)
{
	ConfigRequest request = {
		.destination = "t", .config_file = "none", .jump = "j1,j2",
		.options = LIST("ServerAliveInterval=2", "ServerAliveCountMax=4",
		                "ConnectTimeout=7", "User=only-target"),
		.home_dir = "/nonexistent-home", .local_user = "localuser",
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(ChainSpec) chain = config_resolve(&request, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(chain->hops->len, ==, 3);
	for (guint i = 0; i < 3; i++) {
		g_assert_cmpint(hop_at(chain, i)->server_alive_interval, ==, 2);
		g_assert_cmpint(hop_at(chain, i)->server_alive_count_max, ==, 4);
		g_assert_cmpint(hop_at(chain, i)->connect_timeout, ==, 7);
	}
	g_assert_cmpstr(hop_at(chain, 0)->user, ==, "localuser");
	g_assert_cmpstr(hop_at(chain, 2)->user, ==, "only-target");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/chain/config/%s", cases[i].name);
		g_test_add_data_func(path, &cases[i], run_case);
	}
	g_test_add_func("/chain/config/include/depth", test_include_depth);
	g_test_add_func("/chain/config/hop/key-copy", test_hop_key_copy);
	g_test_add_func("/chain/config/cmdline/chain-wide-options", test_chain_wide_options);
	return g_test_run();
}
