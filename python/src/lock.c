/*
 * lock.c - a handle's lock, taken without blocking the interpreter.
 *
 * The uncontended case costs one atomic operation with the GIL held; only
 * when another thread holds the lock is the GIL released for the wait.
 */
#include "stashpy.h"

int stashpy_lock_init(stashpy_lock *lock)
{
    lock->lock = PyThread_allocate_lock();
    if (!lock->lock) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

void stashpy_lock_fini(stashpy_lock *lock)
{
    if (lock->lock)
        PyThread_free_lock(lock->lock);
    lock->lock = NULL;
}

void stashpy_lock_acquire(stashpy_lock *lock)
{
    if (PyThread_acquire_lock(lock->lock, NOWAIT_LOCK))
        return;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(lock->lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
}

void stashpy_lock_release(stashpy_lock *lock)
{
    PyThread_release_lock(lock->lock);
}
