/* SFTP v3 wire encoding: see sftp-codec.h. */
#include "fs/sftp-codec.h"

#include <string.h>
#include "fs/sftp-proto.h"

/* ---- writer ---- */

void sftp_buf_init(SftpBuf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void sftp_buf_clear(SftpBuf *buf)
{
	g_free(buf->data);
	sftp_buf_init(buf);
}

static guint8 *buf_grow(SftpBuf *buf, size_t n)
{
	if (buf->cap - buf->len < n) {
		size_t cap = buf->cap ? buf->cap : 256;
		while (cap - buf->len < n) {
			g_assert(cap <= G_MAXSIZE / 2);
			cap *= 2;
		}
		buf->data = g_realloc(buf->data, cap);
		buf->cap = cap;
	}
	guint8 *p = buf->data + buf->len;
	buf->len += n;
	return p;
}

static void store_u32(guint8 *p, uint32_t v)
{
	p[0] = (guint8)(v >> 24);
	p[1] = (guint8)(v >> 16);
	p[2] = (guint8)(v >> 8);
	p[3] = (guint8)v;
}

void sftp_buf_put_u8(SftpBuf *buf, uint8_t v)
{
	*buf_grow(buf, 1) = v;
}

void sftp_buf_put_u32(SftpBuf *buf, uint32_t v)
{
	store_u32(buf_grow(buf, 4), v);
}

void sftp_buf_put_u64(SftpBuf *buf, uint64_t v)
{
	guint8 *p = buf_grow(buf, 8);
	store_u32(p, (uint32_t)(v >> 32));
	store_u32(p + 4, (uint32_t)v);
}

void sftp_buf_put_string(SftpBuf *buf, const void *data, size_t len)
{
	g_assert(len <= UINT32_MAX);
	sftp_buf_put_u32(buf, (uint32_t)len);
	if (len > 0)
		memcpy(buf_grow(buf, len), data, len);
}

void sftp_buf_put_cstr(SftpBuf *buf, const char *s)
{
	sftp_buf_put_string(buf, s, strlen(s));
}

void sftp_buf_put_handle(SftpBuf *buf, const SftpHandle *handle)
{
	g_assert(handle->len <= SFTP_HANDLE_MAX);
	sftp_buf_put_string(buf, handle->data, handle->len);
}

void sftp_buf_put_attrs(SftpBuf *buf, const SftpAttrs *attrs)
{
	if (attrs == NULL) {
		sftp_buf_put_u32(buf, 0);
		return;
	}
	uint32_t flags = attrs->flags & SFTP_ATTR_KNOWN;
	sftp_buf_put_u32(buf, flags);
	if (flags & SFTP_ATTR_SIZE)
		sftp_buf_put_u64(buf, attrs->size);
	if (flags & SFTP_ATTR_UIDGID) {
		sftp_buf_put_u32(buf, attrs->uid);
		sftp_buf_put_u32(buf, attrs->gid);
	}
	if (flags & SFTP_ATTR_PERMISSIONS)
		sftp_buf_put_u32(buf, attrs->permissions);
	if (flags & SFTP_ATTR_ACMODTIME) {
		sftp_buf_put_u32(buf, attrs->atime);
		sftp_buf_put_u32(buf, attrs->mtime);
	}
}

size_t sftp_buf_begin_packet(SftpBuf *buf, uint8_t type, gboolean has_id, uint32_t id)
{
	size_t start = buf->len;
	sftp_buf_put_u32(buf, 0); /* patched by sftp_buf_end_packet */
	sftp_buf_put_u8(buf, type);
	if (has_id)
		sftp_buf_put_u32(buf, id);
	return start;
}

void sftp_buf_end_packet(SftpBuf *buf, size_t start, size_t extra)
{
	size_t body = buf->len - start - 4 + extra;
	g_assert(body <= UINT32_MAX);
	store_u32(buf->data + start, (uint32_t)body);
}

/* ---- reader ---- */

void sftp_reader_init(SftpReader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
}

static gboolean take(SftpReader *r, size_t n, const guint8 **out)
{
	if (r->left < n)
		return FALSE;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return TRUE;
}

static uint32_t load_u32(const guint8 *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

gboolean sftp_reader_u8(SftpReader *r, uint8_t *v)
{
	const guint8 *p;
	if (!take(r, 1, &p))
		return FALSE;
	*v = p[0];
	return TRUE;
}

gboolean sftp_reader_u32(SftpReader *r, uint32_t *v)
{
	const guint8 *p;
	if (!take(r, 4, &p))
		return FALSE;
	*v = load_u32(p);
	return TRUE;
}

gboolean sftp_reader_u64(SftpReader *r, uint64_t *v)
{
	const guint8 *p;
	if (!take(r, 8, &p))
		return FALSE;
	*v = (uint64_t)load_u32(p) << 32 | load_u32(p + 4);
	return TRUE;
}

gboolean sftp_reader_string(SftpReader *r, const guint8 **data, uint32_t *len)
{
	uint32_t n;
	SftpReader save = *r;
	if (!sftp_reader_u32(r, &n) || !take(r, n, data)) {
		*r = save;
		return FALSE;
	}
	*len = n;
	return TRUE;
}

gboolean sftp_reader_cstring(SftpReader *r, char **out)
{
	const guint8 *data;
	uint32_t len;
	if (!sftp_reader_string(r, &data, &len))
		return FALSE;
	if (len > 0 && memchr(data, '\0', len) != NULL)
		return FALSE;
	*out = g_strndup((const char *)data, len);
	return TRUE;
}

gboolean sftp_reader_attrs(SftpReader *r, SftpAttrs *attrs)
{
	uint32_t flags;
	memset(attrs, 0, sizeof(*attrs));
	if (!sftp_reader_u32(r, &flags))
		return FALSE;
	if ((flags & SFTP_ATTR_SIZE) && !sftp_reader_u64(r, &attrs->size))
		return FALSE;
	if ((flags & SFTP_ATTR_UIDGID) &&
	    (!sftp_reader_u32(r, &attrs->uid) || !sftp_reader_u32(r, &attrs->gid)))
		return FALSE;
	if ((flags & SFTP_ATTR_PERMISSIONS) &&
	    !sftp_reader_u32(r, &attrs->permissions))
		return FALSE;
	if ((flags & SFTP_ATTR_ACMODTIME) &&
	    (!sftp_reader_u32(r, &attrs->atime) || !sftp_reader_u32(r, &attrs->mtime)))
		return FALSE;
	if (flags & SFTP_ATTR_EXTENDED) {
		/* Each pair consumes >= 8 bytes, so a huge count fails on the
		 * data running out rather than looping for long. */
		uint32_t count;
		if (!sftp_reader_u32(r, &count))
			return FALSE;
		for (uint32_t i = 0; i < count; i++) {
			const guint8 *s;
			uint32_t n;
			if (!sftp_reader_string(r, &s, &n) ||
			    !sftp_reader_string(r, &s, &n))
				return FALSE;
		}
	}
	attrs->flags = flags & SFTP_ATTR_KNOWN;
	return TRUE;
}

/* ---- reply bodies ---- */

gboolean sftp_codec_read_status(SftpReader *r, uint32_t *code, char **message)
{
	const guint8 *text;
	uint32_t len;
	if (message)
		*message = NULL;
	if (!sftp_reader_u32(r, code))
		return FALSE;
	/* Message and language tag are optional in practice. */
	if (message && sftp_reader_string(r, &text, &len))
		*message = g_strndup((const char *)text, len);
	return TRUE;
}

uint32_t sftp_codec_longname_nlink(const guint8 *longname, uint32_t len)
{
	/* A mode string first: ten characters (eleven with an ACL or
	 * SELinux marker), starting with the type letter. */
	uint32_t i = 0;
	while (i < len && longname[i] != ' ')
		i++;
	if ((i != 10 && i != 11) || strchr("-dlcbps", longname[0]) == NULL)
		return 0;
	while (i < len && longname[i] == ' ')
		i++;
	uint64_t nlink = 0;
	uint32_t digits = 0;
	for (; i < len && g_ascii_isdigit(longname[i]) && digits < 10; i++, digits++)
		nlink = nlink * 10 + (uint64_t)(longname[i] - '0');
	if (digits == 0 || (i < len && longname[i] != ' ') || nlink > G_MAXUINT32)
		return 0;
	return (uint32_t)nlink;
}

static gboolean sftp_codec_name_ok(const guint8 *name, uint32_t len)
{
	return len > 0 && memchr(name, '\0', len) == NULL && memchr(name, '/', len) == NULL;
}

SftpEntryStatus sftp_codec_read_entry(SftpReader *r, SftpName **name, char **bad)
{
	const guint8 *filename, *longname;
	uint32_t name_len, long_len;
	SftpAttrs attrs;
	if (!sftp_reader_string(r, &filename, &name_len) ||
	    !sftp_reader_string(r, &longname, &long_len) || !sftp_reader_attrs(r, &attrs))
		return SFTP_ENTRY_MALFORMED;
	if (!sftp_codec_name_ok(filename, name_len)) {
		if (bad != NULL) {
			GString *shown = g_string_new(NULL);
			for (uint32_t i = 0; i < name_len && i < 64; i++) {
				if (filename[i] >= 0x20 && filename[i] < 0x7f && filename[i] != '\\')
					g_string_append_c(shown, (char)filename[i]);
				else
					g_string_append_printf(shown, "\\x%02x", filename[i]);
			}
			*bad = g_string_free(shown, FALSE);
		}
		return SFTP_ENTRY_BAD_NAME;
	}
	SftpName *n = g_new(SftpName, 1);
	n->name = g_strndup((const char *)filename, name_len);
	n->attrs = attrs;
	n->nlink = sftp_codec_longname_nlink(longname, long_len);
	*name = n;
	return SFTP_ENTRY_OK;
}

gboolean sftp_codec_read_name(SftpReader *r, SftpName **name)
{
	char *filename;
	const guint8 *longname;
	uint32_t len;
	SftpAttrs attrs;
	if (!sftp_reader_cstring(r, &filename))
		return FALSE;
	if (!sftp_reader_string(r, &longname, &len) ||
	    !sftp_reader_attrs(r, &attrs)) {
		g_free(filename);
		return FALSE;
	}
	SftpName *n = g_new(SftpName, 1);
	n->name = filename;
	n->attrs = attrs;
	n->nlink = sftp_codec_longname_nlink(longname, len);
	*name = n;
	return TRUE;
}

gboolean sftp_codec_read_statvfs(SftpReader *r, struct statvfs *st)
{
	uint64_t v[11];
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		if (!sftp_reader_u64(r, &v[i]))
			return FALSE;
	memset(st, 0, sizeof(*st));
	st->f_bsize = (unsigned long)v[0];
	st->f_frsize = (unsigned long)v[1];
	st->f_blocks = (fsblkcnt_t)v[2];
	st->f_bfree = (fsblkcnt_t)v[3];
	st->f_bavail = (fsblkcnt_t)v[4];
	st->f_files = (fsfilcnt_t)v[5];
	st->f_ffree = (fsfilcnt_t)v[6];
	st->f_favail = (fsfilcnt_t)v[7];
	st->f_fsid = (unsigned long)v[8];
	st->f_flag = 0;
	if (v[9] & SFTP_STATVFS_RDONLY)
		st->f_flag |= ST_RDONLY;
	if (v[9] & SFTP_STATVFS_NOSUID)
		st->f_flag |= ST_NOSUID;
	st->f_namemax = (unsigned long)v[10];
	return TRUE;
}
