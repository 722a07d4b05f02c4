/* Between the dispatching loop (share.c) and the workers it starts
 * (share-request.c). */
#ifndef JUMPFS_CLI_SHARE_PRIVATE_H
#define JUMPFS_CLI_SHARE_PRIVATE_H

#include <signal.h>
#include <sys/types.h>

#include "cli/mount.h"
#include "cli/share.h"

typedef struct Share Share;

/* One thread: a connection's request, and the mount it sets up and serves
 * (or this process's own first mount). */
typedef struct {
	Share *share;
	GThread *thread;
	int client_fd;           /* the connection, -1 for the first mount */
	pid_t client_pid;        /* from SO_PEERCRED, for messages */
	const ShareFirst *first; /* for this process's own mount, else NULL */
	Mount *mount;            /* once set up; under share->lock */
	gboolean in_setup;       /* under share->lock */
	pid_t tid;               /* the thread running the mount's loop; under
	                            share->lock */
	guint status_readers;    /* `jumpfs status` answers reading mount;
	                            under share->lock: it is freed only
	                            once they are done */
	int status;              /* the first mount's exit status */
} ShareWorker;

struct Share {
	ChainCache *cache;
	gboolean accepts_mounts;
	int stop_fd;             /* eventfd, readable once stopping: cancels
	                            waits for clients */
	GMutex lock;             /* protects the fields below */
	GCond status_done;       /* a status answer stopped reading a mount */
	GPtrArray *workers;      /* ShareWorker *, alive */
	guint connections;       /* workers still reading their request */
	gboolean stopping;
	gint64 drain_deadline_us;/* set when stopping */
	GAsyncQueue *ended;      /* ShareWorker * whose thread is done */
	int ended_fd;            /* eventfd: something is in ended */
};

/* Interrupts a worker's wait in its mount's loop (share.c). */
#define SHARE_WAKE_SIGNAL SIGUSR2

/* The worker's thread function (share-request.c). */
gpointer share_worker_run(gpointer data);

#endif
