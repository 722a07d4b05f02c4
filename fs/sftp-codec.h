/* SFTP v3 wire encoding, apart from any transport.
 *
 * SftpBuf is a growable writer for outgoing packets; SftpReader is a
 * bounds-checked cursor over a received payload. Every reader function
 * returns FALSE instead of reading past the end (the cursor is then left
 * unspecified and the caller treats the reply as malformed). Big-endian
 * throughout, strings are uint32 length + bytes, as the draft says. */
#ifndef JUMPFS_FS_SFTP_CODEC_H
#define JUMPFS_FS_SFTP_CODEC_H

#include <glib.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include "fs/sftp.h"

/* Ownership: data is owned by the buffer (g_free by sftp_buf_clear). */
typedef struct {
	guint8 *data;
	size_t len;
	size_t cap;
} SftpBuf;

void sftp_buf_init(SftpBuf *buf);
void sftp_buf_clear(SftpBuf *buf);
void sftp_buf_put_u8(SftpBuf *buf, uint8_t v);
void sftp_buf_put_u32(SftpBuf *buf, uint32_t v);
void sftp_buf_put_u64(SftpBuf *buf, uint64_t v);
void sftp_buf_put_string(SftpBuf *buf, const void *data, size_t len);
void sftp_buf_put_cstr(SftpBuf *buf, const char *s);
void sftp_buf_put_handle(SftpBuf *buf, const SftpHandle *handle);
/* attrs NULL encodes "no attributes" (flags 0). Only the four v3 fields
 * are ever sent; unknown flag bits are dropped. */
void sftp_buf_put_attrs(SftpBuf *buf, const SftpAttrs *attrs);

/* Start a packet at the end of buf: length placeholder, type, request id
 * (id is omitted for INIT, pass has_id FALSE). Returns the packet start
 * for sftp_buf_end_packet, which patches the length; extra counts bytes
 * that follow in a separate iovec (WRITE payload sent without copying). */
size_t sftp_buf_begin_packet(SftpBuf *buf, uint8_t type, gboolean has_id, uint32_t id);
void sftp_buf_end_packet(SftpBuf *buf, size_t start, size_t extra);

/* Reader. Ownership: borrows the bytes; they must outlive it. */
typedef struct {
	const guint8 *p;
	size_t left;
} SftpReader;

void sftp_reader_init(SftpReader *r, const void *data, size_t len);
gboolean sftp_reader_u8(SftpReader *r, uint8_t *v);
gboolean sftp_reader_u32(SftpReader *r, uint32_t *v);
gboolean sftp_reader_u64(SftpReader *r, uint64_t *v);
/* *data points into the reader's bytes (not NUL-terminated). */
gboolean sftp_reader_string(SftpReader *r, const guint8 **data, uint32_t *len);
/* Newly allocated, NUL-terminated; FALSE if the string holds a NUL byte
 * (it could not be a path). *out is untouched on failure. */
gboolean sftp_reader_cstring(SftpReader *r, char **out);
/* Decodes the v3 fields; extended pairs are skipped. */
gboolean sftp_reader_attrs(SftpReader *r, SftpAttrs *attrs);

/* STATUS body after the id: code, then message and language tag which
 * some old servers omit (accepted). *message (may be NULL to ignore) is
 * newly allocated or NULL. */
gboolean sftp_codec_read_status(SftpReader *r, uint32_t *code, char **message);
/* One NAME entry: filename, longname (only its link count is read),
 * attrs. *name is newly allocated (free with sftp_name_free) and set only
 * on success. */
gboolean sftp_codec_read_name(SftpReader *r, SftpName **name);

typedef enum {
	SFTP_ENTRY_OK,
	SFTP_ENTRY_BAD_NAME,  /* well formed, but the filename is empty or
			       * holds '/' or NUL: the reader is past it */
	SFTP_ENTRY_MALFORMED, /* the reply is broken from here on */
} SftpEntryStatus;
/* A READDIR entry: like sftp_codec_read_name, but a filename no kernel
 * can take is consumed and reported, so the rest of the reply still
 * reads. *name is set only for SFTP_ENTRY_OK; *bad (may be NULL) gets a
 * printable copy of a bad filename (g_free). */
SftpEntryStatus sftp_codec_read_entry(SftpReader *r, SftpName **name, char **bad);

/* The link count in an "ls -l" line ("-rw-r--r--  2 user group ..."), or
 * 0 when the line does not look like one. */
uint32_t sftp_codec_longname_nlink(const guint8 *longname, uint32_t len);
/* statvfs@openssh.com / fstatvfs reply body: eleven uint64. */
gboolean sftp_codec_read_statvfs(SftpReader *r, struct statvfs *st);

#endif
