/* SFTP v3 client, the path and handle operations (stat, open, readdir,
 * rename, the OpenSSH extensions...): one round trip each, see
 * fs/sftp.h. */
#define G_LOG_DOMAIN "jumpfs-sftp"
#include "fs/sftp-private.h"

#include <errno.h>
#include <string.h>

#include "fs/sftp-proto.h"

static int ext_missing(SftpConn *c, const char *name)
{
	return sftpc_has_extension(c, name) ? 0 : -ENOSYS;
}

/* Runs rpc expecting a NAME reply; *out gets the first name's filename. */
static int rpc_first_name(Rpc *rpc, char **out)
{
	uint32_t count;
	SftpName *name = NULL;
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_NAME);
	if (err == 0 && (!sftp_reader_u32(&rpc->reply, &count) || count < 1 ||
			 !sftp_codec_read_name(&rpc->reply, &name)))
		err = -EPROTO;
	if (err == 0) {
		*out = name->name;
		g_free(name);
	}
	rpc_clear(rpc);
	return err;
}

/* Runs rpc expecting ATTRS. */
static int rpc_attrs(Rpc *rpc, SftpAttrs *attrs)
{
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_ATTRS);
	if (err == 0 && !sftp_reader_attrs(&rpc->reply, attrs))
		err = -EPROTO;
	rpc_clear(rpc);
	return err;
}

/* Runs rpc expecting HANDLE. */
static int rpc_handle(Rpc *rpc, SftpHandle *handle)
{
	const guint8 *data;
	uint32_t len;
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_HANDLE);
	if (err == 0 && (!sftp_reader_string(&rpc->reply, &data, &len) ||
			 len == 0 || len > SFTP_HANDLE_MAX))
		err = -EPROTO;
	if (err == 0) {
		handle->len = len;
		memcpy(handle->data, data, len);
	}
	rpc_clear(rpc);
	return err;
}

/* Runs rpc expecting a statvfs EXTENDED_REPLY. */
static int rpc_statvfs(Rpc *rpc, struct statvfs *st)
{
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_EXTENDED_REPLY);
	if (err == 0 && !sftp_codec_read_statvfs(&rpc->reply, st))
		err = -EPROTO;
	rpc_clear(rpc);
	return err;
}

/* Request with one path argument. */
static void rpc_path(SftpConn *c, Rpc *rpc, uint8_t type, const char *path)
{
	rpc_begin(c, rpc, type);
	sftp_buf_put_cstr(&rpc->pkt, path);
}

static void rpc_handle_arg(SftpConn *c, Rpc *rpc, uint8_t type, const SftpHandle *h)
{
	rpc_begin(c, rpc, type);
	sftp_buf_put_handle(&rpc->pkt, h);
}

int sftpc_realpath(SftpConn *conn, const char *path, char **resolved)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_REALPATH, path);
	return rpc_first_name(&rpc, resolved);
}

int sftpc_expand_path(SftpConn *conn, const char *path, char **expanded)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_EXPAND_PATH);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_EXPAND_PATH);
	sftp_buf_put_cstr(&rpc.pkt, path);
	return rpc_first_name(&rpc, expanded);
}

int sftpc_stat(SftpConn *conn, const char *path, SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_STAT, path);
	return rpc_attrs(&rpc, attrs);
}

int sftpc_lstat(SftpConn *conn, const char *path, SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_LSTAT, path);
	return rpc_attrs(&rpc, attrs);
}

int sftpc_fstat(SftpConn *conn, const SftpHandle *handle, SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_handle_arg(conn, &rpc, SFTP_FXP_FSTAT, handle);
	return rpc_attrs(&rpc, attrs);
}

int sftpc_setstat(SftpConn *conn, const char *path, const SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_SETSTAT, path);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_status(&rpc);
}

int sftpc_lsetstat(SftpConn *conn, const char *path, const SftpAttrs *attrs)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_LSETSTAT);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_LSETSTAT);
	sftp_buf_put_cstr(&rpc.pkt, path);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_status(&rpc);
}

int sftpc_fsetstat(SftpConn *conn, const SftpHandle *handle, const SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_handle_arg(conn, &rpc, SFTP_FXP_FSETSTAT, handle);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_status(&rpc);
}

int sftpc_open(SftpConn *conn, const char *path, uint32_t sftp_flags,
	       const SftpAttrs *attrs, SftpHandle *handle)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_OPEN, path);
	sftp_buf_put_u32(&rpc.pkt, sftp_flags);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_handle(&rpc, handle);
}

int sftpc_open_stat(SftpConn *conn, const char *path, uint32_t sftp_flags,
		    const SftpAttrs *attrs, SftpHandle *handle, SftpAttrs *st,
		    int *stat_rc)
{
	Rpc open, stat;
	rpc_path(conn, &open, SFTP_FXP_OPEN, path);
	sftp_buf_put_u32(&open.pkt, sftp_flags);
	sftp_buf_put_attrs(&open.pkt, attrs);
	rpc_send(&open);
	/* Served after the OPEN: it sees the file the OPEN made or found. */
	rpc_path(conn, &stat, SFTP_FXP_STAT, path);
	rpc_send(&stat);
	int rc = rpc_handle(&open, handle);
	*stat_rc = rpc_attrs(&stat, st);
	return rc;
}

struct SftpOpenOp {
	Rpc rpc;
	gboolean answered;
};

SftpOpenOp *sftpc_open_start(SftpConn *conn, const char *path, uint32_t sftp_flags,
			     const SftpAttrs *attrs)
{
	SftpOpenOp *op = g_new0(SftpOpenOp, 1);
	rpc_path(conn, &op->rpc, SFTP_FXP_OPEN, path);
	sftp_buf_put_u32(&op->rpc.pkt, sftp_flags);
	sftp_buf_put_attrs(&op->rpc.pkt, attrs);
	rpc_send(&op->rpc);
	return op;
}

int sftpc_open_finish(SftpOpenOp *op, gboolean wait, SftpHandle *handle)
{
	if (!wait && !op->answered && op->rpc.err == 0) {
		/* Our one request: its completion, if it came. */
		if (batch_take(op->rpc.conn, &op->rpc.batch, FALSE) == NULL)
			return -EAGAIN;
		op->answered = TRUE;
	}
	int rc = rpc_handle(&op->rpc, handle); /* waits only if it must */
	g_free(op);
	return rc;
}

int sftpc_close(SftpConn *conn, const SftpHandle *handle)
{
	Rpc rpc;
	rpc_handle_arg(conn, &rpc, SFTP_FXP_CLOSE, handle);
	return rpc_status(&rpc);
}

void sftpc_close_detached(SftpConn *conn, const SftpHandle *handle)
{
	SftpReq *req = g_new0(SftpReq, 1);
	uint32_t id;
	if (req_register_detached(conn, req, &id) < 0) {
		g_free(req);
		return;
	}
	SftpBuf pkt;
	sftp_buf_init(&pkt);
	size_t start = sftp_buf_begin_packet(&pkt, SFTP_FXP_CLOSE, TRUE, id);
	sftp_buf_put_handle(&pkt, handle);
	sftp_buf_end_packet(&pkt, start, 0);
	send_buf(conn, &pkt); /* on failure the request is failed and freed */
	sftp_buf_clear(&pkt);
}

int sftpc_fsync(SftpConn *conn, const SftpHandle *handle)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_FSYNC);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_FSYNC);
	sftp_buf_put_handle(&rpc.pkt, handle);
	return rpc_status(&rpc);
}

int sftpc_opendir(SftpConn *conn, const char *path, SftpHandle *handle)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_OPENDIR, path);
	return rpc_handle(&rpc, handle);
}

void sftp_name_free(SftpName *name)
{
	if (name) {
		g_free(name->name);
		g_free(name);
	}
}

/* Replies in a row made only of names the kernel cannot take before a
 * READDIR gives up: a server that sends nothing else must not keep a
 * readdir(3) spinning. */
#define READDIR_MAX_EMPTY_REPLIES 16

int sftpc_readdir(SftpConn *conn, const SftpHandle *handle, GPtrArray *names)
{
	int added = 0;
	guint dropped = 0;
	g_autofree char *first_bad = NULL;
	/* Loops only while whole replies consist of dropped names. */
	for (guint replies = 0; added == 0; replies++) {
		if (replies == READDIR_MAX_EMPTY_REPLIES) {
			g_warning("sftp: the server sent %u directory replies with %u names "
				  "that no file can have ('/' or NUL in them, or empty; the "
				  "first: \"%s\") and nothing else: giving up the listing",
				  replies, dropped, first_bad ? first_bad : "");
			return -EPROTO;
		}
		Rpc rpc;
		uint32_t count;
		rpc_handle_arg(conn, &rpc, SFTP_FXP_READDIR, handle);
		int err = rpc_run(&rpc);
		if (err == 0 && rpc.req.type == SFTP_FXP_STATUS) {
			err = status_errno(&rpc.reply, TRUE);
			rpc_clear(&rpc);
			return err; /* 0 at EOF */
		}
		if (err == 0)
			err = rpc_expect(&rpc, SFTP_FXP_NAME);
		if (err == 0 && !sftp_reader_u32(&rpc.reply, &count))
			err = -EPROTO;
		for (uint32_t i = 0; err == 0 && i < count; i++) {
			SftpName *name;
			char *bad = NULL;
			switch (sftp_codec_read_entry(&rpc.reply, &name, &bad)) {
			case SFTP_ENTRY_OK:
				g_ptr_array_add(names, name);
				added++;
				break;
			case SFTP_ENTRY_BAD_NAME:
				/* The kernel must never be handed such a name. */
				dropped++;
				if (first_bad == NULL)
					first_bad = bad;
				else
					g_free(bad);
				break;
			case SFTP_ENTRY_MALFORMED:
				g_warning("sftp: a directory reply of %u entries breaks off "
					  "at entry %u", count, i);
				err = -EPROTO;
				break;
			}
		}
		rpc_clear(&rpc);
		if (err < 0)
			return err;
		if (count == 0)
			break; /* an empty NAME: do not spin on it */
	}
	if (dropped > 0)
		g_warning("sftp: skipped %u directory entries whose names no file can have "
			  "('/' or NUL in them, or empty; the first: \"%s\")", dropped,
			  first_bad);
	return added;
}

int sftpc_remove(SftpConn *conn, const char *path)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_REMOVE, path);
	return rpc_status(&rpc);
}

int sftpc_mkdir(SftpConn *conn, const char *path, uint32_t mode)
{
	Rpc rpc;
	SftpAttrs attrs = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode };
	rpc_path(conn, &rpc, SFTP_FXP_MKDIR, path);
	sftp_buf_put_attrs(&rpc.pkt, &attrs);
	return rpc_status(&rpc);
}

int sftpc_rmdir(SftpConn *conn, const char *path)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_RMDIR, path);
	return rpc_status(&rpc);
}

int sftpc_rename(SftpConn *conn, const char *from, const char *to, gboolean noreplace)
{
	Rpc rpc;
	if (!noreplace && sftpc_has_extension(conn, SFTP_EXT_POSIX_RENAME))
		rpc_begin_ext(conn, &rpc, SFTP_EXT_POSIX_RENAME);
	else
		rpc_begin(conn, &rpc, SFTP_FXP_RENAME);
	sftp_buf_put_cstr(&rpc.pkt, from);
	sftp_buf_put_cstr(&rpc.pkt, to);
	return rpc_status(&rpc);
}

int sftpc_readlink(SftpConn *conn, const char *path, char **target)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_READLINK, path);
	return rpc_first_name(&rpc, target);
}

int sftpc_symlink(SftpConn *conn, const char *target, const char *linkpath)
{
	Rpc rpc;
	/* OpenSSH's server reads the draft's (linkpath, targetpath) the other
	 * way round; its own client, and every client that works with it,
	 * sends the target first. */
	rpc_path(conn, &rpc, SFTP_FXP_SYMLINK, target);
	sftp_buf_put_cstr(&rpc.pkt, linkpath);
	return rpc_status(&rpc);
}

int sftpc_hardlink(SftpConn *conn, const char *oldpath, const char *newpath)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_HARDLINK);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_HARDLINK);
	sftp_buf_put_cstr(&rpc.pkt, oldpath);
	sftp_buf_put_cstr(&rpc.pkt, newpath);
	return rpc_status(&rpc);
}

int sftpc_statvfs(SftpConn *conn, const char *path, struct statvfs *st)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_STATVFS);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_STATVFS);
	sftp_buf_put_cstr(&rpc.pkt, path);
	return rpc_statvfs(&rpc, st);
}

int sftpc_fstatvfs(SftpConn *conn, const SftpHandle *handle, struct statvfs *st)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_FSTATVFS);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_FSTATVFS);
	sftp_buf_put_handle(&rpc.pkt, handle);
	return rpc_statvfs(&rpc, st);
}
