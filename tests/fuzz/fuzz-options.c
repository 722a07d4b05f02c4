/* libFuzzer target: the command line (cli/options.c), as fstab lines,
 * mount.fuse3 and shared-daemon clients hand it over. The input is split
 * at newlines into arguments after "jumpfs"; whatever they say, parsing
 * ends in success or an error with a message, and frees everything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cli/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *text = g_strndup((const char *)data, size);
	gchar **words = g_strsplit(text, "\n", 64);
	g_free(text);
	guint n = g_strv_length(words);
	char **argv = g_new0(char *, n + 2);
	argv[0] = "jumpfs";
	for (guint i = 0; i < n; i++)
		argv[i + 1] = words[i];

	CliOptions options;
	struct fuse_args fuse_args;
	GError *error = NULL;
	gboolean ok = cli_options_parse((int)n + 1, argv, &options, &fuse_args, &error);
	if (!ok && (error == NULL || error->message[0] == '\0'))
		__builtin_trap(); /* every refusal says why */
	if (ok && error != NULL)
		__builtin_trap();
	g_clear_error(&error);
	cli_options_clear(&options);
	fuse_opt_free_args(&fuse_args);
	g_free(argv);
	g_strfreev(words);
	return 0;
}
