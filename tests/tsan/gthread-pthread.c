/* GMutex and GCond on pthreads, for ThreadSanitizer builds only.
 *
 * GLib 2.74 implements GMutex and GCond with raw futexes on Linux, which
 * ThreadSanitizer cannot see: every lock-protected access then looks like
 * a race. Linked into a -Db_sanitize=thread build (chain/meson.build), these
 * definitions take the place of GLib's for jumpfs's own calls (GLib's calls
 * inside itself are bound within the library), so TSan sees the real
 * lock/unlock and wait/signal edges. A zeroed GMutex or GCond (static, or
 * g_new0) works without init, as in GLib: the pthread object is allocated
 * on first use. */
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t *shim_mutex(GMutex *mutex)
{
	pthread_mutex_t *impl = g_atomic_pointer_get(&mutex->p);
	if (impl != NULL)
		return impl;
	impl = malloc(sizeof(*impl));
	pthread_mutex_init(impl, NULL);
	if (!g_atomic_pointer_compare_and_exchange(&mutex->p, NULL, impl)) {
		pthread_mutex_destroy(impl);
		free(impl);
		impl = g_atomic_pointer_get(&mutex->p);
	}
	return impl;
}

static pthread_cond_t *shim_cond(GCond *cond)
{
	pthread_cond_t *impl = g_atomic_pointer_get(&cond->p);
	if (impl != NULL)
		return impl;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* g_get_monotonic_time */
	impl = malloc(sizeof(*impl));
	pthread_cond_init(impl, &attr);
	pthread_condattr_destroy(&attr);
	if (!g_atomic_pointer_compare_and_exchange(&cond->p, NULL, impl)) {
		pthread_cond_destroy(impl);
		free(impl);
		impl = g_atomic_pointer_get(&cond->p);
	}
	return impl;
}

void g_mutex_init(GMutex *mutex)
{
	mutex->p = NULL;
	shim_mutex(mutex);
}

void g_mutex_clear(GMutex *mutex)
{
	pthread_mutex_t *impl = mutex->p;
	if (impl != NULL) {
		pthread_mutex_destroy(impl);
		free(impl);
	}
	mutex->p = NULL;
}

void g_mutex_lock(GMutex *mutex)
{
	pthread_mutex_lock(shim_mutex(mutex));
}

void g_mutex_unlock(GMutex *mutex)
{
	pthread_mutex_unlock(shim_mutex(mutex));
}

gboolean g_mutex_trylock(GMutex *mutex)
{
	return pthread_mutex_trylock(shim_mutex(mutex)) == 0;
}

void g_cond_init(GCond *cond)
{
	cond->p = NULL;
	shim_cond(cond);
}

void g_cond_clear(GCond *cond)
{
	pthread_cond_t *impl = cond->p;
	if (impl != NULL) {
		pthread_cond_destroy(impl);
		free(impl);
	}
	cond->p = NULL;
}

void g_cond_wait(GCond *cond, GMutex *mutex)
{
	pthread_cond_wait(shim_cond(cond), shim_mutex(mutex));
}

void g_cond_signal(GCond *cond)
{
	pthread_cond_signal(shim_cond(cond));
}

void g_cond_broadcast(GCond *cond)
{
	pthread_cond_broadcast(shim_cond(cond));
}

gboolean g_cond_wait_until(GCond *cond, GMutex *mutex, gint64 end_time)
{
	struct timespec ts = { .tv_sec = end_time / G_USEC_PER_SEC,
			       .tv_nsec = (end_time % G_USEC_PER_SEC) * 1000 };
	return pthread_cond_timedwait(shim_cond(cond), shim_mutex(mutex), &ts) == 0;
}
