/* `jumpfs -G [-F file] [-J jumps] [-l user] [-p port] [-o Key=value]
 * [user@]host`: the configuration a mount would use, resolved without
 * connecting, printed as `ssh -G` prints it (see config_print()). */
#include "cli/print-config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chain/config.h"

static int
print_config_usage(void)
{
	fprintf(stderr, "usage: jumpfs -G [-F configfile] [-J destination] "
	        "[-l login_name] [-o option] [-p port] destination\n");
	return 2;
}

gboolean
print_config_requested(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "-G") == 0;
}

int
print_config_main(int argc, char **argv)
{
	/* -l, -p and -o are all first-wins in ssh, in the order given. */
	g_autoptr(GPtrArray) options = g_ptr_array_new_with_free_func(g_free);
	const char *config_file = NULL, *jump = NULL;
	int opt;

	/* "+": stop at the destination. */
	optind = 2;
	while ((opt = getopt(argc, argv, "+F:J:l:o:p:G")) != -1) {
		switch (opt) {
		case 'F': config_file = optarg; break;
		case 'J':
			if (jump != NULL) {
				fprintf(stderr, "jumpfs: Only a single -J option is permitted "
				        "(use commas to separate multiple jump hops)\n");
				return 255;
			}
			jump = optarg;
			break;
		case 'l': g_ptr_array_add(options, g_strdup_printf("User=%s", optarg)); break;
		case 'o': g_ptr_array_add(options, g_strdup(optarg)); break;
		case 'p': g_ptr_array_add(options, g_strdup_printf("Port=%s", optarg)); break;
		case 'G': break;
		default:
			return print_config_usage();
		}
	}
	if (optind != argc - 1)
		return print_config_usage();

	/* Whose ~/.ssh: the password entry's, as ssh reads it. */
	struct passwd *pw = getpwuid(getuid());
	g_ptr_array_add(options, NULL);
	ConfigRequest request = {
		.destination = argv[optind], .jump = jump, .config_file = config_file,
		.options = (const char *const *)options->pdata,
		.home_dir = pw != NULL ? pw->pw_dir : NULL,
		.local_user = pw != NULL ? pw->pw_name : NULL,
	};
	GError *error = NULL;
	char *text = config_print(&request, TRUE, &error);
	if (text == NULL) {
		fprintf(stderr, "jumpfs: %s\n", error->message);
		g_error_free(error);
		return 255;
	}
	fputs(text, stdout);
	g_free(text);
	return 0;
}
