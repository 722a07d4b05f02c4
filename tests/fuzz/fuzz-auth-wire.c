/* libFuzzer target: what jumpfs reads from an agent socket and from .pub /
 * -cert.pub files (chain/auth-wire.c), all on the same untrusted bytes:
 * as an agent's IDENTITIES_ANSWER, as a request libssh sends the filtering
 * agent, as a certificate blob, and as a .pub line. */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "chain/auth-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed ed25519 key the filter offers. */
static const guint8 offered[] = {
	0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
	0, 0, 0, 4, 'k', 'e', 'y', '!',
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GPtrArray *ids = auth_wire_parse_identities(data, size, NULL);
	if (ids != NULL) {
		for (guint i = 0; i < ids->len; i++) {
			const AuthWireIdentity *id = g_ptr_array_index(ids, i);
			g_free(auth_wire_blob_type(id->blob));
			const char *why;
			GBytes *plain = auth_wire_cert_plain(id->blob, &why);
			if (plain != NULL)
				g_bytes_unref(plain);
		}
		/* What the filter would hand libssh reads back the same. */
		GBytes *again = auth_wire_identities_answer(ids);
		gsize len;
		const guint8 *bytes = g_bytes_get_data(again, &len);
		GPtrArray *back = auth_wire_parse_identities(bytes, len, NULL);
		if (back == NULL || back->len != ids->len)
			__builtin_trap();
		for (guint i = 0; i < ids->len; i++) {
			const AuthWireIdentity *a = g_ptr_array_index(ids, i);
			const AuthWireIdentity *b = g_ptr_array_index(back, i);
			if (!g_bytes_equal(a->blob, b->blob))
				__builtin_trap();
		}
		g_ptr_array_unref(back);
		g_bytes_unref(again);
		g_ptr_array_unref(ids);
	}

	GBytes *shown = g_bytes_new_static(offered, sizeof(offered));
	GBytes *forward = NULL;
	GBytes *reply = auth_wire_filter(shown, "fuzz", NULL, data, size, &forward);
	if ((reply == NULL) == (forward == NULL))
		__builtin_trap(); /* exactly one of them */
	if (forward != NULL) {
		/* Only a sign request for the offered key goes to the agent. */
		if (size < 5 + sizeof(offered) || data[0] != AUTH_WIRE_AGENT_SIGN_REQUEST ||
		    memcmp(data + 5, offered, sizeof(offered)) != 0)
			__builtin_trap();
		GBytes *answer = auth_wire_sign_reply(forward);
		g_bytes_unref(answer);
		g_bytes_unref(forward);
	}
	if (reply != NULL)
		g_bytes_unref(reply);

	GBytes *blob = g_bytes_new(data, size);
	const char *why;
	GBytes *plain = auth_wire_cert_plain(blob, &why);
	if ((plain == NULL) == (why == NULL))
		__builtin_trap();
	if (plain != NULL)
		g_bytes_unref(plain);
	g_free(auth_wire_blob_type(blob));
	g_bytes_unref(blob);

	GBytes *line = auth_wire_pub_line((const char *)data, size);
	if (line != NULL)
		g_bytes_unref(line);
	g_bytes_unref(shown);
	return 0;
}
