/* SFTP version 3 wire constants (draft-ietf-secsh-filexfer-02) and the
 * OpenSSH extension names we use (OpenSSH's PROTOCOL file). Internal to
 * the client: callers see fs/sftp.h only.
 *
 * Names carry an SFTP_ prefix rather than the draft's SSH_ so that they can
 * never collide with libssh's <libssh/sftp.h> in a file including both. */
#ifndef JUMPFS_FS_SFTP_PROTO_H
#define JUMPFS_FS_SFTP_PROTO_H

#define SFTP_PROTOCOL_VERSION 3u

/* Packet types. */
#define SFTP_FXP_INIT            1
#define SFTP_FXP_VERSION         2
#define SFTP_FXP_OPEN            3
#define SFTP_FXP_CLOSE           4
#define SFTP_FXP_READ            5
#define SFTP_FXP_WRITE           6
#define SFTP_FXP_LSTAT           7
#define SFTP_FXP_FSTAT           8
#define SFTP_FXP_SETSTAT         9
#define SFTP_FXP_FSETSTAT       10
#define SFTP_FXP_OPENDIR        11
#define SFTP_FXP_READDIR        12
#define SFTP_FXP_REMOVE         13
#define SFTP_FXP_MKDIR          14
#define SFTP_FXP_RMDIR          15
#define SFTP_FXP_REALPATH       16
#define SFTP_FXP_STAT           17
#define SFTP_FXP_RENAME         18
#define SFTP_FXP_READLINK       19
#define SFTP_FXP_SYMLINK        20
#define SFTP_FXP_STATUS        101
#define SFTP_FXP_HANDLE        102
#define SFTP_FXP_DATA          103
#define SFTP_FXP_NAME          104
#define SFTP_FXP_ATTRS         105
#define SFTP_FXP_EXTENDED      200
#define SFTP_FXP_EXTENDED_REPLY 201

/* Status codes (SSH_FX_*). v3 defines 0..8. */
#define SFTP_FX_OK                0
#define SFTP_FX_EOF               1
#define SFTP_FX_NO_SUCH_FILE      2
#define SFTP_FX_PERMISSION_DENIED 3
#define SFTP_FX_FAILURE           4
#define SFTP_FX_BAD_MESSAGE       5
#define SFTP_FX_NO_CONNECTION     6
#define SFTP_FX_CONNECTION_LOST   7
#define SFTP_FX_OP_UNSUPPORTED    8

/* ATTRS flag beyond the four public ones in fs/sftp.h. */
#define SFTP_ATTR_EXTENDED 0x80000000u
#define SFTP_ATTR_KNOWN    (SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | \
			    SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME)

/* statvfs@openssh.com f_flag bits. */
#define SFTP_STATVFS_RDONLY 0x1u
#define SFTP_STATVFS_NOSUID 0x2u

/* OpenSSH extensions. */
#define SFTP_EXT_POSIX_RENAME "posix-rename@openssh.com"
#define SFTP_EXT_STATVFS      "statvfs@openssh.com"
#define SFTP_EXT_FSTATVFS     "fstatvfs@openssh.com"
#define SFTP_EXT_HARDLINK     "hardlink@openssh.com"
#define SFTP_EXT_FSYNC        "fsync@openssh.com"
#define SFTP_EXT_LSETSTAT     "lsetstat@openssh.com"
#define SFTP_EXT_LIMITS       "limits@openssh.com"
#define SFTP_EXT_EXPAND_PATH  "expand-path@openssh.com"

/* Largest packet we accept (length field, i.e. type byte onward).
 * OpenSSH's server and client both cap messages at 256 KiB; a little
 * slack covers headers of a full-size DATA reply. */
#define SFTP_MAX_PACKET_LEN (256u * 1024u + 1024u)

/* Default READ/WRITE payload per request. Deliberately not 32768: the
 * whole SFTP message (payload plus a few dozen bytes of header) fits one
 * 32 KiB SSH channel message, and a reply split across two costs a
 * delayed ACK at every jump host (measured ~28 ms vs 1.3 ms). */
#define SFTP_DEFAULT_CHUNK 32000u

/* Requests one sftpc_read/sftpc_write keeps in flight at most: with the
 * default chunk ~2 MB, like OpenSSH's sftp (64 x 32 KiB). More buys
 * little and queues more ahead of every other thread's requests at the
 * server, which answers strictly in order. */
#define SFTP_MAX_INFLIGHT 64u

#endif
