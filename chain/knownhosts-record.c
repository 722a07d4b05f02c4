/* Appending a known_hosts line. See knownhosts-record.h. */
#include "chain/knownhosts-record.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "chain/errors.h"
#include "chain/knownhosts-file.h"

gboolean knownhosts_record_name_ok(const char *hostname)
{
	return strpbrk(hostname, "@?*#[]|'\"\\") == NULL;
}

/* hostfile_create_user_ssh_dir(): only ~/.ssh itself, only if missing. */
static void knownhosts_record_make_ssh_dir(const char *path, const char *home_dir)
{
	g_autofree char *ssh_dir = g_build_filename(home_dir ? home_dir : g_get_home_dir(),
						    ".ssh", NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	if (strcmp(parent, ssh_dir) != 0)
		return;
	if (g_mkdir(ssh_dir, 0700) == 0)
		g_message("created directory %s", ssh_dir);
}

/* (lines in the file, does it end in a newline); a missing file is empty. */
static gboolean knownhosts_record_scan(int fd, guint *lines, gboolean *ends_in_newline,
				       GError **error)
{
	char buf[65536];
	ssize_t n;
	char last = '\n';
	*lines = 0;
	off_t offset = 0;
	for (;;) {
		n = pread(fd, buf, sizeof(buf), offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s",
				    g_strerror(errno));
			return FALSE;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				(*lines)++;
		last = buf[n - 1];
		offset += n;
	}
	*ends_in_newline = last == '\n';
	if (!*ends_in_newline)
		(*lines)++;
	return TRUE;
}

gboolean knownhosts_record(const char *path, const char *name,
			   const KnownHostsKey *key, gboolean hash,
			   const char *home_dir, guint *line, GError **error)
{
	g_autofree char *lower = g_ascii_strdown(name, -1);
	g_autofree char *field = NULL;
	if (hash) {
		guint8 salt[20];
		if (getentropy(salt, sizeof(salt)) != 0) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
				    "no random salt to hash the host name: %s", g_strerror(errno));
			return FALSE;
		}
		field = knownhosts_file_hash_name(lower, salt);
	} else {
		field = g_strdup(lower);
	}
	g_autofree char *key_text = knownhosts_key_to_text(key);

	knownhosts_record_make_ssh_dir(path, home_dir);
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "cannot open %s to add the key: %s", path, g_strerror(errno));
		return FALSE;
	}
	guint lines = 0;
	gboolean ends_in_newline = TRUE;
	GError *scan_error = NULL;
	if (!knownhosts_record_scan(fd, &lines, &ends_in_newline, &scan_error)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "cannot read %s: %s", path, scan_error->message);
		g_error_free(scan_error);
		close(fd);
		return FALSE;
	}
	g_autofree char *text = g_strdup_printf("%s%s %s\n", ends_in_newline ? "" : "\n",
						field, key_text);
	gsize len = strlen(text);
	ssize_t n;
	do {
		n = write(fd, text, len);
	} while (n < 0 && errno == EINTR);
	int write_errno = errno;
	if (close(fd) != 0 && n >= 0) {
		n = -1;
		write_errno = errno;
	}
	if (n != (ssize_t)len) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_HOSTKEY_UNKNOWN,
			    "cannot add the key to %s: %s", path,
			    n < 0 ? g_strerror(write_errno) : "short write");
		return FALSE;
	}
	*line = lines + 1;
	return TRUE;
}
