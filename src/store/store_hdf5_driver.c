/*
 * stash's HDF5 file driver (store_hdf5_driver.h): a descriptor, the
 * addresses HDF5 allocated (eoa) and the file's size (eof), and the
 * journal every overwrite and cut goes through first.
 *
 * Failures go onto HDF5's error stack with "errno = N" in their text, as
 * HDF5's own drivers put them, so the store reports the system's reason
 * (-ENOSPC, say) instead of a generic failure.
 */
#include "store/store_hdf5_driver.h"

#include "core/sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest address: what an off_t holds. */
#define MAX_ADDRESS ((haddr_t)INT64_MAX)

/* What the property list carries to open (HDF5 copies it byte for byte). */
struct driver_config {
    struct hdf5_journal *journal;
};

struct driver_file {
    H5FD_t pub; /* HDF5's part: first, HDF5 casts between the two */
    int fd;
    haddr_t eoa, eof;
    dev_t device;
    ino_t inode;
    struct hdf5_journal *journal; /* the journal this open writes through, or NULL */
    bool read_only;
    bool refuse_writes; /* a second open of a journaled file: HDF5 drops it unused */
    bool dirty;         /* written since the last sync (durable only) */
};

/* Puts a failure on HDF5's error stack, with the errno the store looks for; returns -1. */
static herr_t failed(const char *func, hid_t minor, int error)
{
    H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_VFL, minor,
             "stash journal driver: errno = %d, error message = '%s'", error, strerror(error));
    return -1;
}

/* A stash status as an errno for failed(): the journal's own failures are I/O errors. */
static int errno_of(stash_status st)
{
    return st < 0 && st > -4096 ? (int)-st : EIO;
}

static bool overflows(haddr_t addr, size_t size)
{
    return addr == HADDR_UNDEF || addr > MAX_ADDRESS || size > MAX_ADDRESS - addr;
}

static H5FD_t *driver_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    if (!name || !*name || maxaddr == 0 || (maxaddr != HADDR_UNDEF && maxaddr > MAX_ADDRESS)) {
        failed(__func__, H5E_CANTOPENFILE, EINVAL);
        return NULL;
    }
    /* O_TRUNC would cut the file before the journal saw a byte of it: a journaled file is
     * opened, never created over (the store makes new files apart, store_hdf5.c). */
    const struct driver_config *config = H5Pget_driver_info(fapl);
    struct hdf5_journal *j = config ? config->journal : NULL;
    if (j && (flags & H5F_ACC_TRUNC)) {
        failed(__func__, H5E_CANTOPENFILE, EINVAL);
        return NULL;
    }
    int open_flags = flags & H5F_ACC_RDWR ? O_RDWR : O_RDONLY;
    open_flags |= flags & H5F_ACC_TRUNC ? O_TRUNC : 0;
    open_flags |= flags & H5F_ACC_CREAT ? O_CREAT : 0;
    open_flags |= flags & H5F_ACC_EXCL ? O_EXCL : 0;
    struct driver_file *f = calloc(1, sizeof *f);
    if (!f) {
        failed(__func__, H5E_CANTOPENFILE, ENOMEM);
        return NULL;
    }
    struct stat about;
    stash_status st = sysio_open_regular_stat(AT_FDCWD, name, open_flags, &f->fd, &about);
    if (st != STASH_OK) {
        free(f);
        failed(__func__, H5E_CANTOPENFILE, errno_of(st));
        return NULL;
    }
    f->eof = (haddr_t)about.st_size;
    f->device = about.st_dev;
    f->inode = about.st_ino;
    f->read_only = !(flags & H5F_ACC_RDWR);
    if (j && !f->read_only && j->file_fd < 0) {
        f->journal = j;
        hdf5_journal_attach(j, f->fd);
    } else if (j) {
        f->refuse_writes = true;
    }
    return &f->pub;
}

static herr_t driver_close(H5FD_t *file)
{
    struct driver_file *f = (struct driver_file *)file;
    int error = 0;
    if (f->dirty && f->journal && f->journal->durable && fsync(f->fd) != 0)
        error = errno;
    if (f->journal)
        hdf5_journal_detach(f->journal);
    if (sysio_close(f->fd) != STASH_OK && !error)
        error = EIO;
    free(f);
    return error ? failed(__func__, H5E_CANTCLOSEFILE, error) : 0;
}

static int driver_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const struct driver_file *f = (const struct driver_file *)a, *g = (const struct driver_file *)b;
    if (f->device != g->device)
        return f->device < g->device ? -1 : 1;
    if (f->inode != g->inode)
        return f->inode < g->inode ? -1 : 1;
    return 0;
}

static herr_t driver_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
             H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE;
    return 0;
}

static haddr_t driver_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const struct driver_file *)file)->eoa;
}

static herr_t driver_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    if (addr > MAX_ADDRESS)
        return failed(__func__, H5E_OVERFLOW, EFBIG);
    ((struct driver_file *)file)->eoa = addr;
    return 0;
}

static haddr_t driver_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const struct driver_file *)file)->eof;
}

static herr_t driver_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((struct driver_file *)file)->fd;
    return 0;
}

/* Reads below the end of the file; what lies past it (allocated, never written) reads as zeros. */
static herr_t driver_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                          void *buf)
{
    (void)type, (void)dxpl;
    struct driver_file *f = (struct driver_file *)file;
    if (overflows(addr, size) || addr + size > f->eoa)
        return failed(__func__, H5E_OVERFLOW, EINVAL);
    size_t got = 0;
    stash_status st = sysio_pread_full(f->fd, buf, size, addr, &got);
    if (st != STASH_OK)
        return failed(__func__, H5E_READERROR, errno_of(st));
    memset((char *)buf + got, 0, size - got);
    return 0;
}

static herr_t driver_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                           const void *buf)
{
    (void)type, (void)dxpl;
    struct driver_file *f = (struct driver_file *)file;
    if (overflows(addr, size) || addr + size > f->eoa)
        return failed(__func__, H5E_OVERFLOW, EINVAL);
    if (f->refuse_writes)
        return failed(__func__, H5E_WRITEERROR, EBUSY);
    stash_status st = f->journal ? hdf5_journal_save(f->journal, addr, size) : STASH_OK;
    if (st == STASH_OK)
        st = sysio_pwrite_full(f->fd, buf, size, addr, NULL);
    if (st != STASH_OK)
        return failed(__func__, H5E_WRITEERROR, errno_of(st));
    f->dirty = true;
    if (addr + size > f->eof)
        f->eof = addr + size;
    return 0;
}

static herr_t driver_flush(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)dxpl, (void)closing;
    struct driver_file *f = (struct driver_file *)file;
    if (!f->dirty || !f->journal || !f->journal->durable)
        return 0;
    if (fsync(f->fd) != 0)
        return failed(__func__, H5E_WRITEERROR, errno);
    f->dirty = false;
    return 0;
}

/* Makes the file's size what HDF5 allocated; a cut below the start size is saved first. */
static herr_t driver_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)dxpl, (void)closing;
    struct driver_file *f = (struct driver_file *)file;
    if (f->eoa == f->eof)
        return 0;
    if (f->refuse_writes || f->read_only)
        return failed(__func__, H5E_WRITEERROR, EBUSY);
    stash_status st = f->journal && f->eoa < f->eof ? hdf5_journal_before_cut(f->journal, f->eoa)
                                                    : STASH_OK;
    if (st != STASH_OK)
        return failed(__func__, H5E_WRITEERROR, errno_of(st));
    if (ftruncate(f->fd, (off_t)f->eoa) != 0)
        return failed(__func__, H5E_WRITEERROR, errno);
    f->eof = f->eoa;
    f->dirty = true;
    return 0;
}

/* HDF5's own file lock, as its sec2 driver takes it: h5py holding the file open keeps us out. */
static herr_t driver_lock(H5FD_t *file, hbool_t rw)
{
    struct driver_file *f = (struct driver_file *)file;
    if (flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 || errno == ENOSYS)
        return 0;
    return failed(__func__, H5E_CANTOPENFILE, errno);
}

static herr_t driver_unlock(H5FD_t *file)
{
    struct driver_file *f = (struct driver_file *)file;
    if (flock(f->fd, LOCK_UN) == 0 || errno == ENOSYS)
        return 0;
    return failed(__func__, H5E_CANTCLOSEFILE, errno);
}

/*
 * The class, field by field, so that it compiles against each layout: 1.10's
 * (Debian 12), which 1.12 kept, and 1.14's (from 1.13.2), which begins with a
 * version and a value and adds optional callbacks (ctl, del, vector and
 * selection I/O) that HDF5 fills in itself when they are NULL.
 */
static const H5FD_class_t driver_class = {
#if H5_VERSION_GE(1, 13, 2)
    .version = H5FD_CLASS_VERSION,
    .value = (H5FD_class_value_t)(H5_VFD_RESERVED + 0x57), /* in the range left to users */
#endif
    .name = "stash_journal",
    .maxaddr = MAX_ADDRESS,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(struct driver_config),
    .open = driver_open,
    .close = driver_close,
    .cmp = driver_cmp,
    .query = driver_query,
    .get_eoa = driver_get_eoa,
    .set_eoa = driver_set_eoa,
    .get_eof = driver_get_eof,
    .get_handle = driver_get_handle,
    .read = driver_read,
    .write = driver_write,
    .flush = driver_flush,
    .truncate = driver_truncate,
    .lock = driver_lock,
    .unlock = driver_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

static hid_t driver_id = H5I_INVALID_HID;

static void register_driver(void)
{
    driver_id = H5FDregister(&driver_class);
}

hid_t hdf5_driver_fapl(struct hdf5_journal *j)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_driver);
    if (driver_id < 0)
        return H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    struct driver_config config = {j};
    /* Strong: closing the file closes what is open in it, so HDF5 lets go of the file (and
     * the store may commit or roll back) whenever H5Fclose returns. */
    if (fapl >= 0 && (H5Pset_driver(fapl, driver_id, &config) < 0 ||
                      H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0)) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    return fapl;
}
