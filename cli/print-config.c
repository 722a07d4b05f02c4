/* `jumpfs -G [-F file] [-J jumps] [-l user] [-p port] [-o Key=value]
 * [user@]host`: the configuration a mount would use, resolved without
 * connecting, printed as `ssh -G` prints it (see config_print()). */
#include "cli/print-config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
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
	g_autoptr(GPtrArray) options = g_ptr_array_new();
	const char *config_file = NULL, *jump = NULL, *login = NULL;
	int port = 0, opt;

	/* "+": stop at the destination, as ssh's option order matters. */
	optind = 2;
	while ((opt = getopt(argc, argv, "+F:J:l:o:p:G")) != -1) {
		switch (opt) {
		case 'F': config_file = optarg; break;
		case 'J': jump = optarg; break;
		case 'l': login = optarg; break;
		case 'o': g_ptr_array_add(options, optarg); break;
		case 'G': break;
		case 'p': {
			char *end;
			long value = strtol(optarg, &end, 10);
			if (*end != '\0' || value <= 0 || value > 65535) {
				fprintf(stderr, "jumpfs: Bad port '%s'\n", optarg);
				return 2;
			}
			port = (int)value;
			break;
		}
		default:
			return print_config_usage();
		}
	}
	if (optind != argc - 1)
		return print_config_usage();

	/* Whose ~/.ssh: the password entry's, as ssh reads it. */
	struct passwd *pw = getpwuid(getuid());
	g_autofree char *destination = login != NULL && strchr(argv[optind], '@') == NULL
		? g_strdup_printf("%s@%s", login, argv[optind]) : g_strdup(argv[optind]);
	if (login != NULL) /* -l beats user@, as in ssh */
		g_ptr_array_insert(options, 0, g_strdup_printf("User=%s", login));
	g_ptr_array_add(options, NULL);
	ConfigRequest request = {
		.destination = destination, .jump = jump, .config_file = config_file,
		.port = port, .options = (const char *const *)options->pdata,
		.home_dir = pw != NULL ? pw->pw_dir : NULL,
		.local_user = pw != NULL ? pw->pw_name : NULL,
	};
	GError *error = NULL;
	char *text = config_print(&request, TRUE, &error);
	if (login != NULL)
		g_free(options->pdata[0]);
	if (text == NULL) {
		fprintf(stderr, "jumpfs: %s\n", error->message);
		g_error_free(error);
		return 255;
	}
	fputs(text, stdout);
	g_free(text);
	return 0;
}
