/* A mount request to the shared daemon: the command line, where it was
 * typed (working directory, environment), and proof of where the mount
 * must appear: a descriptor of this process's root directory, which the
 * daemon compares with its own (cli/peer.c), and one of its working
 * directory. Then questions come back until the verdict. */
#include "cli/delegate.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/errors.h"
#include "cli/control.h"
#include "cli/forward.h"

extern char **environ;

static gboolean delegate_send_request(int fd, int argc, char **argv)
{
	g_autofree char *cwd = g_get_current_dir();
	guint n_env = environ ? g_strv_length(environ) : 0;
	g_autofree char *n_env_text = g_strdup_printf("%u", n_env);
	GPtrArray *strings = g_ptr_array_new();
	g_ptr_array_add(strings, cwd);
	g_ptr_array_add(strings, n_env_text);
	for (guint i = 0; i < n_env; i++)
		g_ptr_array_add(strings, environ[i]);
	for (int i = 0; i < argc; i++)
		g_ptr_array_add(strings, argv[i]);

	/* Where this command stands: its root (cli/peer.c), and its working
	 * directory, where relative paths of the command line start. */
	int dirs[2] = { open("/", O_PATH | O_DIRECTORY | O_CLOEXEC),
			open(".", O_PATH | O_DIRECTORY | O_CLOEXEC) };
	gboolean sent = dirs[0] >= 0 && dirs[1] >= 0 &&
			control_send(fd, CONTROL_MOUNT, (const char *const *)strings->pdata,
				     strings->len, dirs, 2);
	for (int i = 0; i < 2; i++)
		if (dirs[i] >= 0)
			close(dirs[i]);
	g_ptr_array_free(strings, TRUE);
	return sent;
}

gboolean delegate_mount(int argc, char **argv, int *status)
{
	int fd = control_connect("control", NULL);
	if (fd < 0)
		return FALSE;
	gboolean taken = FALSE;
	if (!delegate_send_request(fd, argc, argv))
		goto out;
	for (;;) {
		GError *error = NULL;
		/* No deadline: logins and the person at the prompts take
		 * their time; each hop's ConnectTimeout bounds the daemon. */
		g_autoptr(ControlMessage) message = control_recv(fd, -1, -1, &error);
		if (message == NULL) {
			/* The daemon went away without a verdict (it was
			 * stopping), or it is an older jumpfs. */
			g_debug("shared daemon: %s", error->message);
			g_error_free(error);
			goto out;
		}
		if (message->type == CONTROL_QUESTION) {
			if (!forward_answer(fd, message))
				goto out;
			continue;
		}
		if (message->type != CONTROL_RESULT || message->strings->len < 2)
			goto out;
		const char *verdict = g_ptr_array_index(message->strings, 0);
		const char *text = g_ptr_array_index(message->strings, 1);
		if (strcmp(verdict, "2") == 0) {
			g_debug("the shared daemon does not serve this mount (%s): "
				"serving it in a process of its own", text);
			goto out;
		}
		*status = strcmp(verdict, "0") == 0 ? 0 : 1;
		if (*text != '\0')
			fprintf(*status == 0 ? stdout : stderr, "jumpfs: %s\n", text);
		taken = TRUE;
		goto out;
	}
out:
	close(fd);
	return taken;
}
