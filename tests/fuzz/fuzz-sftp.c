/* libFuzzer target: the SFTP reply decoder (fs/sftp-codec.c), on the bytes
 * a hostile server chooses. The input is a run of packets, each a type
 * byte and a 16-bit length followed by that many bytes of body; every
 * body is decoded the way the client decodes a reply of that type
 * (attributes, status, names and READDIR entries with their longnames,
 * statvfs, handles), and the attributes found go through attrs_to_stat.
 * Nothing may read past a body, and every decoded name must be a name the
 * kernel can take. */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "fs/attrs.h"
#include "fs/sftp-codec.h"
#include "fs/sftp-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_names(SftpReader *r, gboolean entries)
{
	uint32_t count;
	if (!sftp_reader_u32(r, &count))
		return;
	FsIdMap ids = { .map_user = TRUE, .remote_uid = 1000, .remote_gid = 1000,
			.local_uid = 1, .local_gid = 1, .hide_others = TRUE,
			.overflow_uid = 65534, .overflow_gid = 65534,
			.force_uid = -1, .force_gid = -1 };
	for (uint32_t i = 0; i < count && i < 4096; i++) {
		SftpName *name = NULL;
		if (entries) {
			char *bad = NULL;
			SftpEntryStatus status = sftp_codec_read_entry(r, &name, &bad);
			g_free(bad);
			if (status == SFTP_ENTRY_MALFORMED)
				return;
			if (status == SFTP_ENTRY_BAD_NAME)
				continue;
			/* The kernel must never see these. */
			if (name->name[0] == '\0' || strchr(name->name, '/') != NULL)
				__builtin_trap();
		} else if (!sftp_codec_read_name(r, &name)) {
			return;
		}
		struct stat st;
		attrs_to_stat(&name->attrs, &ids, &st);
		g_free(name->name);
		g_free(name);
	}
}

static void fuzz_body(uint8_t type, const uint8_t *body, size_t len)
{
	SftpReader r;
	sftp_reader_init(&r, body, len);
	switch (type % 6) {
	case 0: {
		SftpAttrs attrs;
		if (sftp_reader_attrs(&r, &attrs)) {
			struct stat st;
			FsIdMap ids = { .force_uid = -1, .force_gid = -1 };
			attrs_to_stat(&attrs, &ids, &st);
		}
		break;
	}
	case 1: {
		uint32_t code;
		char *message = NULL;
		if (sftp_codec_read_status(&r, &code, &message))
			sftp_status_to_errno(code, message);
		g_free(message);
		break;
	}
	case 2:
		fuzz_names(&r, FALSE);
		break;
	case 3:
		fuzz_names(&r, TRUE);
		break;
	case 4: {
		struct statvfs st;
		sftp_codec_read_statvfs(&r, &st);
		break;
	}
	case 5: {
		const guint8 *handle;
		uint32_t handle_len;
		char *path = NULL;
		if (sftp_reader_string(&r, &handle, &handle_len))
			sftp_codec_longname_nlink(handle, handle_len);
		if (sftp_reader_cstring(&r, &path) && strlen(path) > len)
			__builtin_trap();
		g_free(path);
		break;
	}
	}
	if (r.left > len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size >= 3) {
		uint8_t type = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		/* A copy of exactly the body, so ASan sees any read past it. */
		uint8_t *body = g_memdup2(data, len);
		fuzz_body(type, body, len);
		g_free(body);
		data += len;
		size -= len;
	}
	return 0;
}
