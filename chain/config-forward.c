/* Forwarding specifications: see config-forward.h. */
#include "chain/config-forward.h"

#include <string.h>

#include "chain/config-tokens.h"
#include "chain/config-util.h"

#define CONFIG_NI_MAXHOST 1025
#define CONFIG_PATH_MAX_SUN 108

typedef struct {
	char *arg;
	gboolean is_path;
} ConfigFwdField;

/* parse_fwd_field(): one ':'-separated field; "[...]" taken literally,
 * backslash escapes, a '/' makes it a path. FALSE at the end or on a
 * malformed field. */
static gboolean
config_fwd_field(char **p, ConfigFwdField *field)
{
	char *cp = *p;

	if (cp == NULL || *cp == '\0') {
		*p = NULL;
		return FALSE;
	}
	field->is_path = FALSE;
	if (*cp == '[') {
		char *ep = cp + 1;
		for (; *ep != ']' && *ep != '\0'; ep++)
			if (*ep == '/')
				field->is_path = TRUE;
		if (ep[0] != ']' || (ep[1] != ':' && ep[1] != '\0'))
			return FALSE;
		*ep++ = '\0';
		if (*ep != '\0')
			*ep++ = '\0';
		field->arg = cp + 1;
		*p = ep;
		return TRUE;
	}
	for (; *cp != '\0'; cp++) {
		if (*cp == '\\') {
			memmove(cp, cp + 1, strlen(cp + 1) + 1);
			if (*cp == '\0')
				return FALSE;
		} else if (*cp == '/') {
			field->is_path = TRUE;
		} else if (*cp == ':') {
			*cp++ = '\0';
			break;
		}
	}
	field->arg = *p;
	*p = cp;
	return TRUE;
}

gboolean
config_forward_valid(const char *spec, gboolean dynamic, gboolean remote,
                     const char *const *environment)
{
	const char *reason;
	g_autofree char *bad = NULL;
	g_autofree char *copy = config_tokens_apply(spec, NULL, TRUE, environment,
	                                            &reason, &bad);
	ConfigFwdField f[4];
	int n = 0;

	if (copy == NULL)
		return FALSE;
	char *cp = copy;
	while (g_ascii_isspace(*cp))
		cp++;
	while (n < 4 && config_fwd_field(&cp, &f[n]))
		n++;
	if (cp != NULL && *cp != '\0')
		return FALSE; /* trailing garbage */

	/* What the fields mean, by count (parse_forward()'s switch). */
	const char *listen_host = NULL, *connect_host = NULL;
	gboolean listen_path = FALSE, connect_path = FALSE;
	int listen_port = -1, connect_port = 0;
	switch (n) {
	case 1:
		listen_path = f[0].is_path;
		if (!listen_path)
			listen_port = config_parse_port(f[0].arg);
		connect_host = "socks";
		break;
	case 2:
		if (f[0].is_path && f[1].is_path) {
			listen_path = connect_path = TRUE;
		} else if (f[1].is_path) {
			listen_port = config_parse_port(f[0].arg);
			connect_path = TRUE;
		} else {
			listen_host = f[0].arg;
			listen_port = config_parse_port(f[1].arg);
			connect_host = "socks";
		}
		break;
	case 3:
		if (f[0].is_path) {
			listen_path = TRUE;
			connect_host = f[1].arg;
			connect_port = config_parse_port(f[2].arg);
		} else if (f[2].is_path) {
			listen_host = f[0].arg;
			listen_port = config_parse_port(f[1].arg);
			connect_path = TRUE;
		} else {
			listen_port = config_parse_port(f[0].arg);
			connect_host = f[1].arg;
			connect_port = config_parse_port(f[2].arg);
		}
		break;
	case 4:
		listen_host = f[0].arg;
		listen_port = config_parse_port(f[1].arg);
		connect_host = f[2].arg;
		connect_port = config_parse_port(f[3].arg);
		break;
	default:
		return FALSE;
	}
	if (dynamic) {
		if (n != 1 && n != 2)
			return FALSE;
	} else {
		if (n != 3 && n != 4 && !connect_path && !listen_path)
			return FALSE;
		if (connect_port <= 0 && !connect_path)
			return FALSE;
	}
	if ((listen_port < 0 && !listen_path) || (!remote && listen_port == 0))
		return FALSE;
	if ((connect_host != NULL && strlen(connect_host) >= CONFIG_NI_MAXHOST) ||
	    (listen_host != NULL && strlen(listen_host) >= CONFIG_NI_MAXHOST))
		return FALSE;
	for (int i = 0; i < n; i++)
		if (f[i].is_path && strlen(f[i].arg) >= CONFIG_PATH_MAX_SUN)
			return FALSE;
	return TRUE;
}
