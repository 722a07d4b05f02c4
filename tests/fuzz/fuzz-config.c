/* libFuzzer target: the ssh_config reader (chain/config-read.c and the
 * keyword table), Host/Match evaluation, one hop's resolution, its HopSpec
 * and its -G text, all on the same untrusted bytes.
 *
 * The first line of the input names the destination; the rest is the
 * config file. Nothing may leave the process: "include" is defused in the
 * input (a glob could reach /dev or a FIFO), Match exec finds no shell
 * (SHELL points nowhere), and name lookups go to a resolver that knows
 * one name. */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "chain/config-dump.h"
#include "chain/config-hop.h"
#include "chain/config-read.h"
#include "chain/config-resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean fuzz_resolve(const char *name, int family, char **canonical,
			     gpointer unused)
{
	(void)family, (void)unused;
	*canonical = NULL;
	if (g_str_has_prefix(name, "known."))
		*canonical = g_strdup("alias.known.example");
	return g_str_has_prefix(name, "known.");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const env[] = { "SHELL=/nonexistent/sh", "HOME=/nonexistent",
					   "SSH_AUTH_SOCK=/run/agent", NULL };
	char *text = g_strndup((const char *)data, size);
	for (char *p = text; (p = strcasestr(p, "include")) != NULL; p++)
		*p = 'x';
	char *newline = strchr(text, '\n');
	char *destination = g_strndup(text, newline != NULL ? (gsize)(newline - text) : strlen(text));
	const char *body = newline != NULL ? newline + 1 : "";

	const ConfigParseContext parse = { "/nonexistent", "fuzzer", "/nonexistent", TRUE, FALSE,
					   env };
	GError *error = NULL;
	ConfigFile *file = config_file_parse_text("fuzz", body, &parse, &error);
	g_clear_error(&error);
	if (file != NULL && destination[0] != '\0') {
		GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)config_file_free);
		g_ptr_array_add(files, file);
		GPtrArray *options = g_ptr_array_new();
		ConfigContext ctx = {
			.home_dir = "/nonexistent", .local_user = "fuzzer", .environment = env,
			.working_dir = "/", .resolve = fuzz_resolve, .options = options,
			.files = files,
		};
		ConfigHopRequest request = { .alias = destination, .target = TRUE };
		ConfigResolved resolved;
		if (config_resolve_hop(&ctx, &request, &resolved, &error)) {
			HopSpec *hop = config_hop_fill(&ctx, &resolved, &error);
			if (hop != NULL) {
				char *dump = config_dump(&resolved, hop, TRUE);
				char *key = hop_spec_session_key(hop);
				HopSpec *copy = hop_spec_copy(hop);
				ConfigHopRequest next;
				(void)config_resolved_next(&resolved, &next);
				g_free(dump);
				g_free(key);
				hop_spec_free(copy);
				hop_spec_free(hop);
			}
		}
		g_clear_error(&error);
		config_resolved_clear(&resolved);
		g_ptr_array_unref(options);
		g_ptr_array_unref(files);
	} else if (file != NULL) {
		config_file_free(file);
	}
	g_free(destination);
	g_free(text);
	return 0;
}
