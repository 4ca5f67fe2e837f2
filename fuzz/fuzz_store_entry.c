/*
 * libFuzzer target: the dir: entry reader (store_entry_read), the path every
 * get from a dir: store takes through untrusted bytes.
 *
 * Each input is written to a memfd and read as an entry. Invariants checked
 * (abort() if violated): a read either fails or returns a tree; a returned
 * tree can be hashed and compared with itself, and every array in it lies
 * wholly inside the input's bytes as mapped or read (its bytes are summed,
 * so a view past the end would fault under ASan); the tree outlives the
 * descriptor and is freed without leaks.
 */
#include "store/store_internal.h"
#include "fuzz_touch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0 && (fd = memfd_create("entry", 0)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    stash_value *v = NULL;
    fuzz_check_value(store_entry_read(fd, "fuzz", NULL, &v), &v);
    return 0;
}
