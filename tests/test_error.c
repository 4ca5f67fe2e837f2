#include <stash/error.h>
#include <stash/memfile.h>
#include <stash/nco.h>
#include <stash/npy.h>
#include <stash/ring.h>
#include <stash/storage.h>
#include <stash/store.h>
#include <stash/stream.h>
#include <stash/version.h>

#include "test_util.h"

#include <errno.h>

static void test_strerror_names_every_stash_status(void **state)
{
    (void)state;
#define CHECK_(name, value, message) assert_string_equal(stash_strerror(name), message);
    STASH_ERROR_TABLE(CHECK_)
#undef CHECK_
    assert_string_equal(stash_strerror(STASH_OK), "success");
}

static void test_status_names_name_every_status(void **state)
{
    (void)state;
#define CHECK_(name, value, message) assert_string_equal(stash_status_name(name), #name);
    STASH_ERROR_TABLE(CHECK_)
#undef CHECK_
    assert_string_equal(stash_status_name(STASH_OK), "STASH_OK");
    assert_string_equal(stash_status_name(-ENOENT), "ENOENT");
    assert_string_equal(stash_status_name(-EMFILE), "EMFILE");
    assert_string_equal(stash_status_name(-29999), "unknown");
    assert_string_equal(stash_status_name(7), "unknown");
}

/* Outside the errno range, and in a range of its own: not LMDB's or Berkeley DB's
 * (-30999 .. -30000), nor mbed TLS's (above -32768). */
static void test_stash_statuses_are_outside_the_errno_range(void **state)
{
    (void)state;
#define CHECK_(name, value, message)                                                         \
    assert_true(name < -STASH_ERRNO_MAX);                                                    \
    assert_true(name >= -40999 && name <= -40000);                                           \
    assert_false(stash_is_system_error(name));                                               \
    assert_int_equal(stash_errno(name), 0);
    STASH_ERROR_TABLE(CHECK_)
#undef CHECK_
}

static void test_system_errors_carry_errno(void **state)
{
    (void)state;
    assert_true(stash_is_system_error(-ENOENT));
    assert_int_equal(stash_errno(-ENOSPC), ENOSPC);
    assert_string_equal(stash_strerror(-ENOENT), strerror(ENOENT));
    assert_false(stash_is_system_error(STASH_OK));
}

static void test_unknown_status_has_text(void **state)
{
    (void)state;
    assert_string_equal(stash_strerror(-29999), "unknown stash status");
    assert_string_equal(stash_strerror(12345), "unknown stash status");
}

/* The one handle rule of error.h, part by part: NULL is STASH_E_CLOSED, and closing NULL is OK. */
static void test_every_part_says_closed_for_a_null_handle(void **state)
{
    (void)state;
    uint64_t size;
    stash_value *v = NULL;
    stash_nco_info nco_info;
    stash_ring_info ring_info;
    assert_int_equal(stash_stream_write(NULL, "x", 1), STASH_E_CLOSED);
    assert_int_equal(stash_storage_write(NULL, "x", 1), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_size(NULL, &size), STASH_E_CLOSED);
    assert_int_equal(stash_nco_info_get(NULL, &nco_info), STASH_E_CLOSED);
    assert_int_equal(stash_nco_meta(NULL, 0, &v, NULL), STASH_E_CLOSED);
    assert_int_equal(stash_ring_info_get(NULL, &ring_info), STASH_E_CLOSED);
    assert_int_equal(stash_store_get(NULL, "k", &v), STASH_E_CLOSED);
    assert_int_equal(stash_store_put(NULL, "k", NULL), STASH_E_CLOSED);
    assert_int_equal(stash_store_gc(NULL, 0, NULL), STASH_E_CLOSED);
    stash_storage *storage = NULL;
    assert_int_equal(stash_storage_open_temp(NULL, &storage), STASH_E_CLOSED);

    stash_stream *stream = NULL;
    stash_storage_pool *pool = NULL;
    stash_memfile *mf = NULL;
    stash_npy_map *map = NULL;
    stash_nco *nco = NULL;
    stash_ring *ring = NULL;
    stash_store *store = NULL;
    assert_int_equal(stash_stream_close(&stream), STASH_OK);
    assert_int_equal(stash_storage_close(&storage), STASH_OK);
    assert_int_equal(stash_storage_pool_close(&pool), STASH_OK);
    assert_int_equal(stash_memfile_close(&mf), STASH_OK);
    assert_int_equal(stash_npy_map_close(&map), STASH_OK);
    assert_int_equal(stash_nco_close(&nco), STASH_OK);
    assert_int_equal(stash_ring_close(&ring), STASH_OK);
    assert_int_equal(stash_store_close(&store), STASH_OK);
}

static void test_version_string_matches_macros(void **state)
{
    (void)state;
    assert_string_equal(stash_version_string(), STASH_VERSION_STRING);
    assert_true(STASH_VERSION >= STASH_VERINT(0, 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_names_every_stash_status),
        cmocka_unit_test(test_status_names_name_every_status),
        cmocka_unit_test(test_stash_statuses_are_outside_the_errno_range),
        cmocka_unit_test(test_system_errors_carry_errno),
        cmocka_unit_test(test_unknown_status_has_text),
        cmocka_unit_test(test_every_part_says_closed_for_a_null_handle),
        cmocka_unit_test(test_version_string_matches_macros),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
