/* The keyword table and the value checks of readconf.c
 * process_config_line_depth(), one case per kind (see config-keywords.h). */
#include "chain/config-keywords.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chain/config-algorithms.h"
#include "chain/config-forward.h"
#include "chain/config-tokens.h"
#include "chain/config-util.h"

const ConfigEnum config_enum_flag[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 }, { NULL, -1 },
};
static const ConfigEnum config_enum_yesnoask[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 }, { "ask", 2 },
	{ NULL, -1 },
};
const ConfigEnum config_enum_strict[] = {
	{ "true", CONFIG_STRICT_YES }, { "false", CONFIG_STRICT_OFF },
	{ "yes", CONFIG_STRICT_YES }, { "no", CONFIG_STRICT_OFF },
	{ "ask", CONFIG_STRICT_ASK }, { "off", CONFIG_STRICT_OFF },
	{ "accept-new", CONFIG_STRICT_NEW }, { NULL, -1 },
};
const ConfigEnum config_enum_address_family[] = {
	{ "inet", AF_INET }, { "inet6", AF_INET6 }, { "any", AF_UNSPEC },
	{ NULL, -1 },
};
static const ConfigEnum config_enum_control_master[] = {
	{ "true", 1 }, { "yes", 1 }, { "false", 0 }, { "no", 0 },
	{ "auto", 2 }, { "ask", 3 }, { "autoask", 4 }, { NULL, -1 },
};
static const ConfigEnum config_enum_tunnel[] = {
	{ "ethernet", 2 }, { "point-to-point", 1 }, { "true", 0x7fffffff },
	{ "yes", 0x7fffffff }, { "false", 0 }, { "no", 0 }, { NULL, -1 },
};
static const ConfigEnum config_enum_request_tty[] = {
	{ "true", 2 }, { "yes", 2 }, { "false", 1 }, { "no", 1 },
	{ "force", 3 }, { "auto", 0 }, { NULL, -1 },
};
static const ConfigEnum config_enum_session_type[] = {
	{ "none", 0 }, { "subsystem", 1 }, { "default", 2 }, { NULL, -1 },
};
const ConfigEnum config_enum_canonicalize[] = {
	{ "true", CONFIG_CANON_YES }, { "false", CONFIG_CANON_NO },
	{ "yes", CONFIG_CANON_YES }, { "no", CONFIG_CANON_NO },
	{ "always", CONFIG_CANON_ALWAYS }, { NULL, -1 },
};
/* SSH_PUBKEY_AUTH_ALL = unbound | host-bound. */
static const ConfigEnum config_enum_pubkey[] = {
	{ "true", 3 }, { "false", 0 }, { "yes", 3 }, { "no", 0 },
	{ "unbound", 1 }, { "host-bound", 2 }, { NULL, -1 },
};
static const ConfigEnum config_enum_compression[] = {
	{ "yes", 1 }, { "no", 0 }, { NULL, -1 },
};
static const ConfigEnum config_enum_add_keys[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 }, { "ask", 2 },
	{ "confirm", 3 }, { NULL, -1 },
};

/* Reasons shared by several keywords. */
#define NO_FORWARDING "a mount opens no port forwardings"
#define NO_SESSION "a mount runs the SFTP subsystem only: no shell, command or tty"
#define NO_AGENT_USE "jumpfs never forwards an agent or adds keys to one"
#define NO_LOG "jumpfs logs with -d / -o debug and to syslog"
#define NO_MUX "the jumpfs daemon shares hop sessions itself"
#define NO_GSSKEX "libssh 0.10 has no GSSAPI key exchange"
#define NO_PROVIDER "libssh 0.10 loads no PKCS#11 or FIDO provider"

#define K(name, kw, kind, values, def, why) \
	{ name, CONFIG_KW_##kw, CONFIG_KIND_##kind, values, def, why }
#define FLAG(name, kw, def, why) K(name, kw, FLAG, config_enum_flag, def, why)

static const ConfigKeyword config_keywords[] = {
	/* Deprecated, unsupported: accepted, as readconf.c does. */
	K("protocol", IGNORE, NONE, NULL, 0, "SSH protocol 2 is the only one"),
	K("cipher", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("fallbacktorsh", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("globalknownhostsfile2", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("rhostsauthentication", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("userknownhostsfile2", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("useroaming", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("usersh", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("useprivilegedport", DEPRECATED, NONE, NULL, 0, "deprecated by OpenSSH"),
	K("afstokenpassing", UNSUPPORTED, NONE, NULL, 0, "unsupported by OpenSSH"),
	K("kerberosauthentication", UNSUPPORTED, NONE, NULL, 0, "unsupported by OpenSSH"),
	K("kerberostgtpassing", UNSUPPORTED, NONE, NULL, 0, "unsupported by OpenSSH"),
	K("rsaauthentication", UNSUPPORTED, NONE, NULL, 0, "unsupported by OpenSSH"),
	K("rhostsrsaauthentication", UNSUPPORTED, NONE, NULL, 0, "unsupported by OpenSSH"),
	K("compressionlevel", UNSUPPORTED, NONE, NULL, 0, "unsupported by OpenSSH"),

	FLAG("gssapiauthentication", GSSAPI_AUTH, 0, NULL),
	FLAG("gssapidelegatecredentials", GSSAPI_DELEGATE, 0, NULL),
	FLAG("gssapikeyexchange", GSSAPI_KEY_EXCHANGE, 0, NO_GSSKEX),
	K("gssapiclientidentity", GSSAPI_CLIENT_IDENTITY, STRING, NULL, 0, NO_GSSKEX),
	K("gssapiserveridentity", GSSAPI_SERVER_IDENTITY, STRING, NULL, 0, NO_GSSKEX),
	FLAG("gssapirenewalforcesrekey", GSSAPI_RENEWAL_REKEY, 0, NO_GSSKEX),
	FLAG("gssapitrustdns", GSSAPI_TRUST_DNS, 0, NO_GSSKEX),
	K("gssapikexalgorithms", GSSAPI_KEX_ALGORITHMS, ALGOS, NULL, 0, NO_GSSKEX),
	K("pkcs11provider", PKCS11_PROVIDER, STRING, NULL, 0, NO_PROVIDER),
	K("smartcarddevice", PKCS11_PROVIDER, STRING, NULL, 0, NO_PROVIDER),

	K("forwardagent", FORWARD_AGENT, SPECIAL, config_enum_flag, 0, NO_AGENT_USE),
	FLAG("forwardx11", FORWARD_X11, 0, NO_SESSION),
	FLAG("forwardx11trusted", FORWARD_X11_TRUSTED, 1, NO_SESSION),
	K("forwardx11timeout", FORWARD_X11_TIMEOUT, TIME, NULL, 1200, NO_SESSION),
	FLAG("exitonforwardfailure", EXIT_ON_FORWARD_FAILURE, 0, NO_FORWARDING),
	K("xauthlocation", XAUTH_LOCATION, STRING, NULL, 0, NO_SESSION),
	FLAG("gatewayports", GATEWAY_PORTS, 0, NO_FORWARDING),
	FLAG("passwordauthentication", PASSWORD_AUTH, 1, NULL),
	FLAG("kbdinteractiveauthentication", KBDINT_AUTH, 1, NULL),
	K("kbdinteractivedevices", KBDINT_DEVICES, STRING, NULL, 0,
	  "libssh 0.10 asks for no particular keyboard-interactive submethod"),
	FLAG("challengeresponseauthentication", KBDINT_AUTH, 1, NULL),
	FLAG("skeyauthentication", KBDINT_AUTH, 1, NULL),
	FLAG("tisauthentication", KBDINT_AUTH, 1, NULL),
	K("pubkeyauthentication", PUBKEY_AUTH, ENUM, config_enum_pubkey, 3, NULL),
	K("dsaauthentication", PUBKEY_AUTH, ENUM, config_enum_pubkey, 3, NULL),
	FLAG("hostbasedauthentication", HOSTBASED_AUTH, 0,
	     "host-based authentication needs ssh-keysign, which jumpfs does not run"),
	K("identityfile", IDENTITY_FILE, ADD, NULL, 0, NULL),
	K("identityfile2", IDENTITY_FILE, ADD, NULL, 0, NULL),
	FLAG("identitiesonly", IDENTITIES_ONLY, 0, NULL),
	K("certificatefile", CERTIFICATE_FILE, ADD, NULL, 0, NULL),
	K("addkeystoagent", ADD_KEYS_TO_AGENT, SPECIAL, config_enum_add_keys, 0, NO_AGENT_USE),
	K("identityagent", IDENTITY_AGENT, SPECIAL, NULL, 0, NULL),
	K("hostname", HOSTNAME, STRING, NULL, 0, NULL),
	K("hostkeyalias", HOST_KEY_ALIAS, STRING, NULL, 0, NULL),
	K("proxycommand", PROXY_COMMAND, COMMAND, NULL, 0, NULL),
	K("port", PORT, SPECIAL, NULL, 0, NULL),
	K("ciphers", CIPHERS, ALGOS, NULL, 0, NULL),
	K("macs", MACS, ALGOS, NULL, 0, NULL),
	K("remoteforward", REMOTE_FORWARD, SPECIAL, NULL, 0, NO_FORWARDING),
	K("localforward", LOCAL_FORWARD, SPECIAL, NULL, 0, NO_FORWARDING),
	K("permitremoteopen", PERMIT_REMOTE_OPEN, SPECIAL, NULL, 0, NO_FORWARDING),
	K("user", USER, STRING, NULL, 0, NULL),
	K("host", HOST, NONE, NULL, 0, NULL),
	K("match", MATCH, NONE, NULL, 0, NULL),
	K("escapechar", ESCAPE_CHAR, SPECIAL, NULL, '~', NO_SESSION),
	K("globalknownhostsfile", GLOBAL_KNOWN_HOSTS, LIST, NULL, 0, NULL),
	K("userknownhostsfile", USER_KNOWN_HOSTS, LIST, NULL, 0, NULL),
	K("connectionattempts", CONNECTION_ATTEMPTS, INT, NULL, 1, NULL),
	FLAG("batchmode", BATCH_MODE, 0, NULL),
	FLAG("checkhostip", CHECK_HOST_IP, 0,
	     "jumpfs looks host keys up by name (or HostKeyAlias), never by address"),
	K("stricthostkeychecking", STRICT_HOST_KEY, ENUM, config_enum_strict,
	  CONFIG_STRICT_ASK, NULL),
	K("compression", COMPRESSION, ENUM, config_enum_compression, 0, NULL),
	FLAG("tcpkeepalive", TCP_KEEP_ALIVE, 1, NULL),
	FLAG("keepalive", TCP_KEEP_ALIVE, 1, NULL),
	K("numberofpasswordprompts", PASSWORD_PROMPTS, INT, NULL, 3, NULL),
	K("syslogfacility", LOG_FACILITY, SPECIAL, NULL, 0, NO_LOG),
	K("loglevel", LOG_LEVEL, SPECIAL, NULL, 0, NO_LOG),
	K("logverbose", LOG_VERBOSE, LIST, NULL, 0, NO_LOG),
	K("dynamicforward", DYNAMIC_FORWARD, SPECIAL, NULL, 0, NO_FORWARDING),
	K("preferredauthentications", PREFERRED_AUTHENTICATIONS, STRING, NULL, 0, NULL),
	K("hostkeyalgorithms", HOST_KEY_ALGORITHMS, ALGOS, NULL, 0, NULL),
	K("casignaturealgorithms", CA_SIGNATURE_ALGORITHMS, ALGOS, NULL, 0,
	  "libssh 0.10 accepts no host certificates, so no CA signs for a hop"),
	K("bindaddress", BIND_ADDRESS, STRING, NULL, 0, NULL),
	K("bindinterface", BIND_INTERFACE, STRING, NULL, 0, NULL),
	FLAG("clearallforwardings", CLEAR_ALL_FORWARDINGS, 0, NO_FORWARDING),
	FLAG("enablesshkeysign", ENABLE_SSH_KEYSIGN, 0,
	     "host-based authentication needs ssh-keysign, which jumpfs does not run"),
	K("verifyhostkeydns", VERIFY_HOST_KEY_DNS, ENUM, config_enum_yesnoask, 0,
	  "jumpfs never asks DNS for SSHFP records: host keys come from known_hosts"),
	FLAG("nohostauthenticationforlocalhost", NO_HOST_AUTH_LOCALHOST, 0,
	     "jumpfs checks every hop's host key, localhost included"),
	K("rekeylimit", REKEY_LIMIT, SPECIAL, NULL, 0, NULL),
	K("connecttimeout", CONNECT_TIMEOUT, TIME, NULL, -1, NULL),
	K("addressfamily", ADDRESS_FAMILY, ENUM, config_enum_address_family,
	  AF_UNSPEC, NULL),
	K("serveraliveinterval", SERVER_ALIVE_INTERVAL, TIME, NULL, 0, NULL),
	K("serveralivecountmax", SERVER_ALIVE_COUNT_MAX, INT, NULL, 3, NULL),
	/* Debian's keepalive patch: old names of ServerAliveInterval. */
	K("protocolkeepalives", SERVER_ALIVE_INTERVAL, TIME, NULL, 0, NULL),
	K("setuptimeout", SERVER_ALIVE_INTERVAL, TIME, NULL, 0, NULL),
	K("sendenv", SEND_ENV, SPECIAL, NULL, 0, NO_SESSION),
	K("setenv", SET_ENV, SPECIAL, NULL, 0, NO_SESSION),
	K("controlpath", CONTROL_PATH, STRING, NULL, 0, NO_MUX),
	K("controlmaster", CONTROL_MASTER, ENUM, config_enum_control_master, 0, NO_MUX),
	K("controlpersist", CONTROL_PERSIST, SPECIAL, NULL, 0, NO_MUX),
	FLAG("hashknownhosts", HASH_KNOWN_HOSTS, 0, NULL),
	K("include", INCLUDE, NONE, NULL, 0, NULL),
	K("tunnel", TUNNEL, ENUM, config_enum_tunnel, 0, NO_FORWARDING),
	K("tunneldevice", TUNNEL_DEVICE, SPECIAL, NULL, 0, NO_FORWARDING),
	K("localcommand", LOCAL_COMMAND, COMMAND, NULL, 0, NO_SESSION),
	FLAG("permitlocalcommand", PERMIT_LOCAL_COMMAND, 0, NO_SESSION),
	K("remotecommand", REMOTE_COMMAND, COMMAND, NULL, 0, NO_SESSION),
	FLAG("visualhostkey", VISUAL_HOST_KEY, 0,
	     "a mount has no terminal to draw the key on; --check shows fingerprints"),
	K("kexalgorithms", KEX_ALGORITHMS, ALGOS, NULL, 0, NULL),
	K("ipqos", IPQOS, SPECIAL, NULL, 0,
	  "jumpfs leaves the socket's type of service to the system"),
	K("requesttty", REQUEST_TTY, ENUM, config_enum_request_tty, 0, NO_SESSION),
	K("sessiontype", SESSION_TYPE, ENUM, config_enum_session_type, 2, NO_SESSION),
	FLAG("stdinnull", STDIN_NULL, 0, NO_SESSION),
	FLAG("forkafterauthentication", FORK_AFTER_AUTH, 0,
	     "jumpfs goes to the background by itself once the mount is up"),
	FLAG("proxyusefdpass", PROXY_USE_FDPASS, 0, NULL),
	K("canonicaldomains", CANONICAL_DOMAINS, SPECIAL, NULL, 0, NULL),
	FLAG("canonicalizefallbacklocal", CANONICALIZE_FALLBACK_LOCAL, 1, NULL),
	K("canonicalizehostname", CANONICALIZE_HOSTNAME, ENUM,
	  config_enum_canonicalize, CONFIG_CANON_NO, NULL),
	K("canonicalizemaxdots", CANONICALIZE_MAX_DOTS, INT, NULL, 1, NULL),
	K("canonicalizepermittedcnames", CANONICALIZE_PERMITTED_CNAMES, SPECIAL,
	  NULL, 0, NULL),
	K("streamlocalbindmask", STREAMLOCAL_BIND_MASK, SPECIAL, NULL, 0177, NO_FORWARDING),
	FLAG("streamlocalbindunlink", STREAMLOCAL_BIND_UNLINK, 0, NO_FORWARDING),
	K("revokedhostkeys", REVOKED_HOST_KEYS, STRING, NULL, 0, NULL),
	K("fingerprinthash", FINGERPRINT_HASH, SPECIAL, NULL, 0,
	  "jumpfs shows SHA256 fingerprints"),
	K("updatehostkeys", UPDATE_HOST_KEYS, ENUM, config_enum_yesnoask, 0,
	  "jumpfs never rewrites known_hosts from the keys a server offers"),
	K("hostbasedacceptedalgorithms", HOSTBASED_ALGORITHMS, ALGOS, NULL, 0,
	  "host-based authentication needs ssh-keysign, which jumpfs does not run"),
	K("hostbasedkeytypes", HOSTBASED_ALGORITHMS, ALGOS, NULL, 0,
	  "host-based authentication needs ssh-keysign, which jumpfs does not run"),
	K("pubkeyacceptedalgorithms", PUBKEY_ALGORITHMS, ALGOS, NULL, 0, NULL),
	K("pubkeyacceptedkeytypes", PUBKEY_ALGORITHMS, ALGOS, NULL, 0, NULL),
	K("ignoreunknown", IGNORE_UNKNOWN, STRING, NULL, 0, NULL),
	K("proxyjump", PROXY_JUMP, SPECIAL, NULL, 0, NULL),
	K("securitykeyprovider", SECURITY_KEY_PROVIDER, STRING, NULL, 0, NO_PROVIDER),
	K("knownhostscommand", KNOWN_HOSTS_COMMAND, COMMAND, NULL, 0, NULL),
	K("requiredrsasize", REQUIRED_RSA_SIZE, INT, NULL, 1024, NULL),
	FLAG("enableescapecommandline", ENABLE_ESCAPE_COMMANDLINE, 0, NO_SESSION),
};

const ConfigKeyword *
config_keyword_lookup(const char *keyword)
{
	for (gsize i = 0; i < G_N_ELEMENTS(config_keywords); i++)
		if (g_ascii_strcasecmp(keyword, config_keywords[i].name) == 0)
			return &config_keywords[i];
	return NULL;
}

const ConfigKeyword *
config_keyword_by_slot(ConfigKw kw)
{
	for (gsize i = 0; i < G_N_ELEMENTS(config_keywords); i++)
		if (config_keywords[i].kw == kw)
			return &config_keywords[i];
	return NULL;
}

const ConfigKeyword *
config_keyword_table(gsize *count)
{
	*count = G_N_ELEMENTS(config_keywords);
	return config_keywords;
}

const char *
config_keyword_format(const ConfigKeyword *keyword, int value)
{
	if (keyword->kind == CONFIG_KIND_ENUM && keyword->kw != CONFIG_KW_COMPRESSION) {
		for (const ConfigEnum *e = keyword->values; e->name != NULL; e++)
			if (e->value == value)
				return e->name;
		return "UNKNOWN";
	}
	return value == 0 ? "no" : value == 1 ? "yes" : "UNKNOWN";
}

void
config_value_clear(ConfigValue *value)
{
	g_free(value->text);
	if (value->list != NULL)
		g_ptr_array_unref(value->list);
	if (value->from_user != NULL)
		g_array_unref(value->from_user);
	memset(value, 0, sizeof *value);
}

void
config_value_copy(ConfigValue *to, const ConfigValue *from)
{
	config_value_clear(to);
	*to = *from;
	to->text = g_strdup(from->text);
	to->list = NULL;
	to->from_user = from->from_user != NULL ? g_array_copy(from->from_user) : NULL;
	if (from->list != NULL) {
		to->list = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0; i < from->list->len; i++)
			g_ptr_array_add(to->list, g_strdup(from->list->pdata[i]));
	}
}

static int
config_enum_value(const ConfigEnum *values, const char *text)
{
	for (const ConfigEnum *e = values; e->name != NULL; e++)
		if (g_ascii_strcasecmp(text, e->name) == 0)
			return e->value;
	return -1;
}

static ConfigAlgoClass
config_algo_class(ConfigKw kw)
{
	switch (kw) {
	case CONFIG_KW_CIPHERS: return CONFIG_ALGO_CIPHERS;
	case CONFIG_KW_MACS: return CONFIG_ALGO_MACS;
	case CONFIG_KW_KEX_ALGORITHMS: return CONFIG_ALGO_KEX;
	case CONFIG_KW_HOST_KEY_ALGORITHMS: return CONFIG_ALGO_HOSTKEY;
	case CONFIG_KW_PUBKEY_ALGORITHMS: return CONFIG_ALGO_PUBKEY;
	case CONFIG_KW_HOSTBASED_ALGORITHMS: return CONFIG_ALGO_HOSTBASED;
	case CONFIG_KW_CA_SIGNATURE_ALGORITHMS: return CONFIG_ALGO_CA_SIG;
	default: return CONFIG_ALGO_GSS_KEX;
	}
}

/* readconf.c's message for a bad algorithm list, per keyword. */
static const char *
config_algo_message(ConfigKw kw)
{
	switch (kw) {
	case CONFIG_KW_CIPHERS: return "Bad SSH2 cipher spec";
	case CONFIG_KW_MACS: return "Bad SSH2 MAC spec";
	case CONFIG_KW_KEX_ALGORITHMS: return "Bad SSH2 KexAlgorithms";
	case CONFIG_KW_GSSAPI_KEX_ALGORITHMS: return "Bad GSSAPI KexAlgorithms";
	default: return "Bad key types";
	}
}

static GPtrArray *
config_words_list(char **args)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	for (char **a = args; *a != NULL; a++)
		g_ptr_array_add(list, g_strdup(*a));
	return list;
}

/* Several words, "none" only alone (parse_char_array and friends). */
static gboolean
config_check_words(char **args, const char *keyword, const char *file,
                   int line, GError **error)
{
	for (char **a = args; *a != NULL; a++) {
		if (**a == '\0')
			return config_set_error(error, file, line,
				"keyword %s empty argument", keyword);
		if (g_ascii_strcasecmp(*a, "none") == 0 && (a != args || a[1] != NULL))
			return config_set_error(error, file, line,
				"keyword %s \"none\" argument must appear alone.",
				keyword);
	}
	return TRUE;
}

/* The kinds with a case of their own. Returns the number of words used,
 * or -1 with *error. */
static int
config_parse_special(const ConfigKeyword *keyword, char **args,
                     const char *file, int line,
                     const char *const *environment, ConfigValue *value,
                     GError **error)
{
	const char *arg = args[0];
	guint nargs = g_strv_length(args);
	int n;

	switch (keyword->kw) {
	case CONFIG_KW_PORT:
		n = config_parse_port(arg);
		if (n <= 0) {
			config_set_error(error, file, line, "Bad port '%s'.", arg);
			return -1;
		}
		value->number = n;
		return 1;
	case CONFIG_KW_REKEY_LIMIT:
		if (strcmp(arg, "default") == 0) {
			value->size = 0;
		} else if (!config_parse_scaled(arg, &value->size)) {
			config_set_error(error, file, line, "Bad number '%s'", arg);
			return -1;
		} else if (value->size != 0 && value->size < 16) {
			config_set_error(error, file, line, "RekeyLimit too small");
			return -1;
		}
		value->number2 = -1;
		if (nargs < 2 || strcmp(args[1], "none") == 0)
			return MIN(nargs, 2u);
		if ((value->number2 = config_parse_time(args[1])) == -1) {
			config_set_error(error, file, line, "invalid time value.");
			return -1;
		}
		return 2;
	case CONFIG_KW_FORWARD_AGENT:
		if ((value->number = config_enum_value(config_enum_flag, arg)) == -1) {
			value->number = 1;  /* a socket path: yes, to that */
			value->text = g_strdup(arg);
		}
		return 1;
	case CONFIG_KW_IDENTITY_AGENT: {
		const char *reason;
		g_autofree char *bad = NULL;
		/* As readconf.c: an unset variable fails already here, in an
		 * inactive block too. */
		g_autofree char *checked = config_tokens_apply(arg, NULL, TRUE,
			environment, &reason, &bad);
		if (checked == NULL) {
			config_set_error(error, file, line,
				"Invalid environment expansion %s.", arg);
			return -1;
		}
		if (arg[0] == '$' && arg[1] != '{' && !config_valid_env_name(arg + 1)) {
			config_set_error(error, file, line,
				"Invalid environment name %s.", arg);
			return -1;
		}
		value->text = g_strdup(arg);
		return 1;
	}
	case CONFIG_KW_ADD_KEYS_TO_AGENT: {
		int v = config_enum_value(config_enum_add_keys, arg);
		int life = 0;
		if (v == 3 && nargs > 1) {
			if ((life = config_parse_time(args[1])) == -1) {
				config_set_error(error, file, line, "invalid time value.");
				return -1;
			}
		} else if (v == -1 && nargs == 1) {
			if ((life = config_parse_time(arg)) == -1) {
				config_set_error(error, file, line, "unsupported option");
				return -1;
			}
			v = 1;
		} else if (v == -1 || nargs > 1) {
			config_set_error(error, file, line, "unsupported option");
			return -1;
		}
		value->number = v;
		value->number2 = life;
		return (int)nargs;
	}
	case CONFIG_KW_ESCAPE_CHAR:
		if (arg[0] == '\0') {  /* EscapeChar "": as ssh says (and no read past it) */
			config_set_error(error, file, line, "Missing argument.");
			return -1;
		}
		if (strcmp(arg, "none") == 0)
			value->number = -2;
		else if (arg[1] == '\0')
			value->number = (unsigned char)arg[0];
		else if (arg[0] == '^' && arg[2] == '\0' &&
		         (unsigned char)arg[1] >= 64 && (unsigned char)arg[1] < 128)
			value->number = (unsigned char)arg[1] & 31;
		else {
			config_set_error(error, file, line, "Bad escape character.");
			return -1;
		}
		return 1;
	case CONFIG_KW_CONTROL_PERSIST:
		if (strcmp(arg, "no") == 0 || strcmp(arg, "false") == 0)
			value->number = 0;
		else if (strcmp(arg, "yes") == 0 || strcmp(arg, "true") == 0)
			value->number = 1;
		else if ((value->number2 = config_parse_time(arg)) >= 0)
			value->number = 1;
		else {
			config_set_error(error, file, line, "Bad ControlPersist argument.");
			return -1;
		}
		return 1;
	case CONFIG_KW_TUNNEL_DEVICE: {
		g_auto(GStrv) parts = g_strsplit(arg, ":", 2);
		for (char **p = parts; *p != NULL; p++) {
			int unit;
			if (g_ascii_strcasecmp(*p, "any") != 0 &&
			    (config_parse_int(*p, &unit) != NULL || unit > 0x7fffffff - 2)) {
				config_set_error(error, file, line, "Bad tun device.");
				return -1;
			}
		}
		return 1;
	}
	case CONFIG_KW_IPQOS: {
		static const char *const names[] = {
			"af11", "af12", "af13", "af21", "af22", "af23", "af31", "af32",
			"af33", "af41", "af42", "af43", "cs0", "cs1", "cs2", "cs3", "cs4",
			"cs5", "cs6", "cs7", "ef", "le", "lowdelay", "throughput",
			"reliability", "none", NULL };
		for (guint i = 0; i < MIN(nargs, 2u); i++) {
			gboolean ok = g_strv_contains(names, args[i]);
			char *end;
			long number = strtol(args[i], &end, 0);
			if (!ok && (*end != '\0' || end == args[i] || number < 0 || number > 255)) {
				config_set_error(error, file, line, "Bad IPQoS value: %s", args[i]);
				return -1;
			}
		}
		return MIN(nargs, 2u);
	}
	case CONFIG_KW_STREAMLOCAL_BIND_MASK: {
		char *end;
		long mask = strtol(arg, &end, 8);
		if (end == arg || mask < 0 || mask > 0777) {
			config_set_error(error, file, line, "Bad mask.");
			return -1;
		}
		value->number = (int)mask;
		return 1;
	}
	case CONFIG_KW_FINGERPRINT_HASH:
		if (g_ascii_strcasecmp(arg, "md5") != 0 &&
		    g_ascii_strcasecmp(arg, "sha1") != 0 &&
		    g_ascii_strcasecmp(arg, "sha256") != 0 &&
		    g_ascii_strcasecmp(arg, "sha384") != 0 &&
		    g_ascii_strcasecmp(arg, "sha512") != 0) {
			config_set_error(error, file, line,
				"Invalid hash algorithm \"%s\".", arg);
			return -1;
		}
		return 1;
	case CONFIG_KW_LOG_LEVEL:
	case CONFIG_KW_LOG_FACILITY: {
		static const char *const levels[] = { "QUIET", "FATAL", "ERROR",
			"INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", NULL };
		static const char *const facilities[] = { "DAEMON", "USER", "AUTH",
			"AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
			"LOCAL5", "LOCAL6", "LOCAL7", NULL };
		gboolean level = keyword->kw == CONFIG_KW_LOG_LEVEL;
		const char *const *names = level ? levels : facilities;
		gboolean found = FALSE;
		for (const char *const *p = names; *p != NULL && !found; p++)
			found = g_ascii_strcasecmp(*p, arg) == 0;
		if (!found) {
			config_set_error(error, file, line, "unsupported log %s '%s'",
			                 level ? "level" : "facility", arg);
			return -1;
		}
		value->text = g_ascii_strup(arg, -1);
		return 1;
	}
	case CONFIG_KW_LOCAL_FORWARD:
	case CONFIG_KW_REMOTE_FORWARD:
	case CONFIG_KW_DYNAMIC_FORWARD: {
		gboolean remote = keyword->kw == CONFIG_KW_REMOTE_FORWARD;
		gboolean dynamic = keyword->kw == CONFIG_KW_DYNAMIC_FORWARD;
		g_autofree char *spec = NULL;
		int used = 1;
		if (!dynamic && (nargs < 2 || args[1][0] == '\0')) {
			if (!remote) {
				config_set_error(error, file, line, "Missing target argument.");
				return -1;
			}
			dynamic = TRUE; /* a RemoteForward with one argument */
		}
		if (dynamic) {
			spec = g_strdup(arg);
		} else {
			/* readconf.c joins the two into a 256-byte buffer. */
			spec = g_strdup_printf("%s:%s", arg, args[1]);
			if (strlen(spec) > 255)
				spec[255] = '\0';
			used = 2;
		}
		if (!config_forward_valid(spec, dynamic, remote, environment)) {
			config_set_error(error, file, line, "Bad forwarding specification.");
			return -1;
		}
		return used;
	}
	case CONFIG_KW_PERMIT_REMOTE_OPEN:
	case CONFIG_KW_SEND_ENV:
	case CONFIG_KW_SET_ENV:
		for (char **a = args; *a != NULL; a++) {
			gboolean has_equals = strchr(*a, '=') != NULL;
			if (keyword->kw == CONFIG_KW_SEND_ENV && (**a == '\0' || has_equals)) {
				config_set_error(error, file, line, "Invalid environment name.");
				return -1;
			}
			if (keyword->kw == CONFIG_KW_SET_ENV && !has_equals) {
				config_set_error(error, file, line, "Invalid SetEnv.");
				return -1;
			}
			if (keyword->kw == CONFIG_KW_PERMIT_REMOTE_OPEN &&
			    (g_ascii_strcasecmp(*a, "none") == 0 ||
			     g_ascii_strcasecmp(*a, "any") == 0) &&
			    (a != args || a[1] != NULL)) {
				config_set_error(error, file, line,
					"keyword %s \"%s\" argument must appear alone.",
					keyword->name, *a);
				return -1;
			}
		}
		value->list = config_words_list(args);
		return (int)nargs;
	case CONFIG_KW_CANONICAL_DOMAINS:
		if (!config_check_words(args, keyword->name, file, line, error))
			return -1;
		for (char **a = args; *a != NULL; a++) {
			const char *reason = config_valid_domain(*a);
			if (reason != NULL) {
				config_set_error(error, file, line, "%s \"%s\"", reason, *a);
				return -1;
			}
		}
		value->list = config_words_list(args);
		return (int)nargs;
	case CONFIG_KW_CANONICALIZE_PERMITTED_CNAMES:
		value->list = g_ptr_array_new_with_free_func(g_free);
		for (char **a = args; *a != NULL; a++) {
			if (g_ascii_strcasecmp(*a, "none") == 0) {
				if (a != args || a[1] != NULL) {
					config_set_error(error, file, line,
						"keyword %s \"none\" argument must appear alone.",
						keyword->name);
					return -1;
				}
				g_ptr_array_add(value->list, g_strdup("none:"));
				continue;
			}
			if (strcmp(*a, "*") == 0) {
				g_ptr_array_add(value->list, g_strdup("*:*"));
				continue;
			}
			g_autofree char *lower = config_lowercase(*a);
			const char *colon = strchr(lower, ':');
			if (colon == NULL || colon[1] == '\0') {
				config_set_error(error, file, line,
					"Invalid permitted CNAME \"%s\"", *a);
				return -1;
			}
			g_ptr_array_add(value->list, g_strdup(lower));
		}
		return (int)nargs;
	case CONFIG_KW_PROXY_JUMP:
		/* Checked on the whole rest of the line, comment cut, by the
		 * caller (parse_jump); here only nothing else to do. */
		return (int)nargs;
	default:
		g_assert_not_reached();
	}
}

gboolean
config_keyword_parse(const ConfigKeyword *keyword, char **args,
                     const char *raw, const char *file, int line,
                     const char *const *environment, ConfigValue *value,
                     GError **error)
{
	const char *arg = args[0];
	int used = 1;

	memset(value, 0, sizeof *value);
	value->file = file;
	value->line = line;
	value->set = TRUE;
	switch (keyword->kind) {
	case CONFIG_KIND_NONE:
		used = (int)g_strv_length(args); /* consumed */
		break;
	case CONFIG_KIND_FLAG:
	case CONFIG_KIND_ENUM:
		if ((value->number = config_enum_value(keyword->values, arg)) == -1)
			return config_set_error(error, file, line,
				"unsupported option \"%s\".", arg);
		break;
	case CONFIG_KIND_INT: {
		const char *reason = config_parse_int(arg, &value->number);
		if (reason != NULL)
			return config_set_error(error, file, line,
				"integer value %s.", reason);
		break;
	}
	case CONFIG_KIND_TIME:
		if (strcmp(arg, "none") == 0)
			value->set = FALSE; /* -1: leaves the keyword unset */
		else if ((value->number = config_parse_time(arg)) == -1)
			return config_set_error(error, file, line, "invalid time value.");
		break;
	case CONFIG_KIND_STRING:
	case CONFIG_KIND_ADD:
		if (arg[0] == '\0')
			return config_set_error(error, file, line, "Missing argument.");
		value->text = g_strdup(arg);
		break;
	case CONFIG_KIND_COMMAND:
		value->text = g_strdup(raw + strspn(raw, " \t\r\n="));
		used = (int)g_strv_length(args);
		break;
	case CONFIG_KIND_LIST:
		if (!config_check_words(args, keyword->name, file, line, error))
			return FALSE;
		value->list = config_words_list(args);
		used = (int)g_strv_length(args);
		break;
	case CONFIG_KIND_ALGOS:
		if (arg[0] == '\0')
			return config_set_error(error, file, line, "Missing argument.");
		if (!config_algorithms_valid(config_algo_class(keyword->kw), arg))
			return config_set_error(error, file, line, "%s '%s'.",
				config_algo_message(keyword->kw), arg);
		value->text = g_strdup(arg);
		break;
	case CONFIG_KIND_SPECIAL:
		used = config_parse_special(keyword, args, file, line, environment,
		                            value, error);
		if (used < 0) {
			config_value_clear(value);
			return FALSE;
		}
		break;
	}
	if ((guint)used < g_strv_length(args)) {
		config_value_clear(value);
		return config_set_error(error, file, line,
			"keyword %s extra arguments at end of line", keyword->name);
	}
	return TRUE;
}
