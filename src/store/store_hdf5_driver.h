/*
 * stash's HDF5 file driver: plain POSIX I/O on one descriptor, as HDF5's
 * own sec2 driver does, that saves old bytes into the rollback journal
 * (store_hdf5_journal.h) before it overwrites them. It writes no driver
 * information into the file, which stays plain HDF5 for h5py and every
 * other reader.
 *
 * HDF5 may open the driver a second time for a file it has open already
 * (to compare the two, then it drops the new one); only the first open of
 * a journal writes through it, and any other refuses to write, so no write
 * can pass the journal by. For the same reason it never opens a journaled
 * file with H5F_ACC_TRUNC (EINVAL): O_TRUNC is a cut the journal would not
 * see. The driver never commits: its flush and close are also called for
 * single objects and after failures.
 */
#ifndef STASH_STORE_HDF5_DRIVER_H
#define STASH_STORE_HDF5_DRIVER_H

#include "store/store_hdf5_journal.h"

#include <hdf5.h>

/*
 * A new file access property list (close it with H5Pclose) that opens
 * files through the driver, journaling into j (NULL: no journal, for
 * reading, or a writer that takes no journal). Durable (only with j):
 * fsync the file on every flush and close that follows a write.
 * H5I_INVALID_HID if HDF5 fails.
 */
hid_t hdf5_driver_fapl(struct hdf5_journal *j);

#endif
