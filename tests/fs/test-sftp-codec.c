/* The SFTP codec, and the client against a server that misbehaves on
 * purpose (a thread on the other end of a socketpair). Needs no
 * sftp-server. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "fs/sftp-codec.h"
#include "fs/sftp.h"

static void test_codec(void)
{
	SftpBuf b;
	SftpReader r;
	SftpAttrs in = { SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS |
			 SFTP_ATTR_ACMODTIME, 1ull << 40, 1000, 1001, 0100644, 7, 8 };
	SftpAttrs out;
	sftp_buf_init(&b);
	sftp_buf_put_attrs(&b, &in);
	sftp_reader_init(&r, b.data, b.len);
	g_assert_true(sftp_reader_attrs(&r, &out));
	g_assert_cmpuint(r.left, ==, 0);
	g_assert_cmpuint(out.flags, ==, in.flags);
	g_assert_cmpuint(out.size, ==, in.size);
	g_assert_cmpuint(out.uid, ==, in.uid);
	g_assert_cmpuint(out.gid, ==, in.gid);
	g_assert_cmpuint(out.permissions, ==, in.permissions);
	g_assert_cmpuint(out.atime, ==, in.atime);
	g_assert_cmpuint(out.mtime, ==, in.mtime);
	/* link counts from "ls -l" lines, and what is not one */
	static const struct { const char *line; uint32_t nlink; } longnames[] = {
		{ "-rw-r--r--    2 u g 5 Jan  1 00:00 f", 2 },
		{ "drwxr-xr-x+ 17 u g 5 Jan  1 00:00 d", 17 },
		{ "lrwxrwxrwx 1 u g 5 Jan  1 00:00 l -> x", 1 },
		{ "longname", 0 }, { "", 0 }, { "-rw-r--r-- x2", 0 },
		{ "-rw-r--r-- 99999999999 u", 0 }, { "qrw-r--r-- 2 u", 0 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(longnames); i++)
		g_assert_cmpuint(sftp_codec_longname_nlink((const guint8 *)longnames[i].line,
							   strlen(longnames[i].line)),
				 ==, longnames[i].nlink);
	/* every truncation fails, none reads past the end */
	for (size_t n = 0; n < b.len; n++) {
		guint8 *copy = g_memdup2(b.data, n);
		sftp_reader_init(&r, copy, n);
		g_assert_false(sftp_reader_attrs(&r, &out));
		g_free(copy);
	}
	/* extended pairs are skipped */
	b.len = 0;
	sftp_buf_put_u32(&b, SFTP_ATTR_SIZE | 0x80000000u);
	sftp_buf_put_u64(&b, 42);
	sftp_buf_put_u32(&b, 2);
	for (int i = 0; i < 4; i++)
		sftp_buf_put_cstr(&b, "x@example.com");
	sftp_buf_put_u32(&b, 0xdeadbeef);
	sftp_reader_init(&r, b.data, b.len);
	g_assert_true(sftp_reader_attrs(&r, &out));
	g_assert_cmpuint(out.flags, ==, SFTP_ATTR_SIZE);
	g_assert_cmpuint(out.size, ==, 42);
	uint32_t tail;
	g_assert_true(sftp_reader_u32(&r, &tail));
	g_assert_cmpuint(tail, ==, 0xdeadbeef);
	/* a huge extended count with no data fails fast */
	b.len = 0;
	sftp_buf_put_u32(&b, 0x80000000u);
	sftp_buf_put_u32(&b, 0xffffffffu);
	sftp_reader_init(&r, b.data, b.len);
	g_assert_false(sftp_reader_attrs(&r, &out));
	/* strings: length beyond the data, and embedded NUL */
	b.len = 0;
	sftp_buf_put_u32(&b, 10);
	sftp_buf_put_u8(&b, 'a');
	char *str = NULL;
	sftp_reader_init(&r, b.data, b.len);
	g_assert_false(sftp_reader_cstring(&r, &str));
	b.len = 0;
	sftp_buf_put_string(&b, "a\0b", 3);
	sftp_reader_init(&r, b.data, b.len);
	g_assert_false(sftp_reader_cstring(&r, &str));
	g_assert_null(str);
	sftp_buf_clear(&b);
}

/* Reads one client packet; returns its type, *id and body (after id). */
static uint8_t peer_read(int fd, uint32_t *id, guint8 **body, size_t *len)
{
	guint8 hdr[9];
	g_assert_cmpint(recv(fd, hdr, 9, MSG_WAITALL), ==, 9);
	uint32_t n = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	*id = (uint32_t)hdr[5] << 24 | hdr[6] << 16 | hdr[7] << 8 | hdr[8];
	*len = n - 5;
	*body = g_malloc(*len + 1);
	if (*len > 0)
		g_assert_cmpint(recv(fd, *body, *len, MSG_WAITALL), ==, (ssize_t)*len);
	return hdr[4];
}

static void peer_send(int fd, SftpBuf *b)
{
	g_assert_cmpint(send(fd, b->data, b->len, MSG_NOSIGNAL), ==, (ssize_t)b->len);
	b->len = 0;
}

static gpointer hostile_main(gpointer data)
{
	int fd = GPOINTER_TO_INT(data);
	SftpBuf b;
	guint8 *body;
	size_t len, start;
	uint32_t id;
	sftp_buf_init(&b);
	g_assert_cmpint(peer_read(fd, &id, &body, &len), ==, 1); /* INIT */
	g_free(body);
	start = sftp_buf_begin_packet(&b, 2, FALSE, 0);
	sftp_buf_put_u32(&b, 3);
	sftp_buf_end_packet(&b, start, 0);
	peer_send(fd, &b);

	/* READ of 100: a stray reply, then DATA of 200 */
	g_assert_cmpint(peer_read(fd, &id, &body, &len), ==, 5);
	g_free(body);
	start = sftp_buf_begin_packet(&b, 101, TRUE, id + 1000);
	sftp_buf_put_u32(&b, 0);
	sftp_buf_end_packet(&b, start, 0);
	start = sftp_buf_begin_packet(&b, 103, TRUE, id);
	static const guint8 zeros[200];
	sftp_buf_put_string(&b, zeros, sizeof(zeros));
	sftp_buf_end_packet(&b, start, 0);
	peer_send(fd, &b);

	/* STAT: ATTRS claiming a size it does not carry */
	g_assert_cmpint(peer_read(fd, &id, &body, &len), ==, 17);
	g_free(body);
	start = sftp_buf_begin_packet(&b, 105, TRUE, id);
	sftp_buf_put_u32(&b, SFTP_ATTR_SIZE);
	sftp_buf_end_packet(&b, start, 0);
	peer_send(fd, &b);

	/* READDIR: names with '/' or NUL, or empty, are dropped, the other
	 * kept (with the link count of its longname) */
	g_assert_cmpint(peer_read(fd, &id, &body, &len), ==, 12);
	g_free(body);
	start = sftp_buf_begin_packet(&b, 104, TRUE, id);
	sftp_buf_put_u32(&b, 4);
	const char *names[] = { "../../etc", "a\0b", "", "fine" };
	const uint32_t lens[] = { 9, 3, 0, 4 };
	for (int i = 0; i < 4; i++) {
		sftp_buf_put_string(&b, (const guint8 *)names[i], lens[i]);
		sftp_buf_put_cstr(&b, "-rw-r--r--    3 user  group  0 Jan  1 00:00 x");
		sftp_buf_put_attrs(&b, NULL);
	}
	sftp_buf_end_packet(&b, start, 0);
	peer_send(fd, &b);

	/* READDIR answered with bad names only, forever: given up */
	for (int reply = 0; reply < 16; reply++) {
		g_assert_cmpint(peer_read(fd, &id, &body, &len), ==, 12);
		g_free(body);
		start = sftp_buf_begin_packet(&b, 104, TRUE, id);
		sftp_buf_put_u32(&b, 1);
		sftp_buf_put_cstr(&b, "/etc/passwd");
		sftp_buf_put_cstr(&b, "");
		sftp_buf_put_attrs(&b, NULL);
		sftp_buf_end_packet(&b, start, 0);
		peer_send(fd, &b);
	}

	/* STAT: a packet far beyond the size limit breaks the stream */
	g_assert_cmpint(peer_read(fd, &id, &body, &len), ==, 17);
	g_free(body);
	start = sftp_buf_begin_packet(&b, 105, TRUE, id);
	sftp_buf_end_packet(&b, start, 0x40000000);
	peer_send(fd, &b);
	sftp_buf_clear(&b);
	return NULL;
}

static void test_hostile_server(void)
{
	int sv[2];
	GError *error = NULL;
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	GThread *peer = g_thread_new("hostile", hostile_main, GINT_TO_POINTER(sv[1]));
	SftpConn *c = sftpc_start(sv[0], &error);
	g_assert_no_error(error);
	SftpHandle h = { .len = 1 };
	SftpAttrs a;
	char buf[100];
	g_assert_cmpint(sftpc_read(c, &h, 0, buf, sizeof(buf)), ==, -EPROTO);
	g_assert_cmpint(sftpc_stat(c, "/x", &a), ==, -EPROTO);
	GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	g_test_expect_message("jumpfs-sftp", G_LOG_LEVEL_WARNING,
			      "*skipped 3 directory entries*the first: \"../../etc\")");
	g_assert_cmpint(sftpc_readdir(c, &h, names), ==, 1);
	g_test_assert_expected_messages();
	g_assert_cmpstr(((SftpName *)names->pdata[0])->name, ==, "fine");
	g_assert_cmpuint(((SftpName *)names->pdata[0])->nlink, ==, 3);
	g_test_expect_message("jumpfs-sftp", G_LOG_LEVEL_WARNING,
			      "*16 directory replies with 16 names*\"/etc/passwd\"*giving up*");
	g_assert_cmpint(sftpc_readdir(c, &h, names), ==, -EPROTO);
	g_test_assert_expected_messages();
	g_assert_cmpuint(names->len, ==, 1);
	g_ptr_array_unref(names);
	g_assert_false(sftpc_is_broken(c));
	g_test_expect_message("jumpfs-sftp", G_LOG_LEVEL_WARNING,
			      "*a packet of 1073741829 bytes*closing the connection");
	g_assert_cmpint(sftpc_stat(c, "/x", &a), ==, -ENOTCONN);
	g_test_assert_expected_messages();
	g_assert_true(sftpc_is_broken(c));
	g_thread_join(peer);
	sftpc_unref(c);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fs/sftp/codec", test_codec);
	g_test_add_func("/fs/sftp/hostile-server", test_hostile_server);
	return g_test_run();
}
