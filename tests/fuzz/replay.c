/* Runs a fuzz target's LLVMFuzzerTestOneInput over files and directories
 * (the seed corpus), so that a plain build tests every target under
 * `meson test` (and valgrind, and ASan) without libFuzzer. */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	gchar *data = NULL;
	gsize len = 0;
	GError *error = NULL;
	if (!g_file_get_contents(path, &data, &len, &error)) {
		fprintf(stderr, "%s\n", error->message);
		g_error_free(error);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	g_free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0, count = 0;
	for (int i = 1; i < argc; i++) {
		GDir *dir = g_dir_open(argv[i], 0, NULL);
		if (dir == NULL) {
			failed |= replay_file(argv[i]);
			count++;
			continue;
		}
		const char *name;
		while ((name = g_dir_read_name(dir)) != NULL) {
			char *path = g_build_filename(argv[i], name, NULL);
			failed |= replay_file(path);
			count++;
			g_free(path);
		}
		g_dir_close(dir);
	}
	printf("1..1\n%s 1 - %d inputs\n", failed ? "not ok" : "ok", count);
	return failed;
}
