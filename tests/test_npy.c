/*
 * Array descriptions and NPY: exact header bytes (compared with what
 * numpy.save 1.24 wrote), every accepted header form, every refusal, and
 * save / load / map round trips. tests/interop/ checks against NumPy itself.
 */
#include "test_util.h"

#include <stash/npy.h>

#include <errno.h>
#include <sys/wait.h>

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = scratch_dir();
    return 0;
}

static stash_array_desc desc_of(stash_dtype dtype, unsigned ndim, const uint64_t *shape)
{
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, dtype, ndim, shape));
    return d;
}

/* ---- Descriptions -------------------------------------------------------- */

static void test_sizes_and_names(void **state)
{
    (void)state;
    assert_int_equal(stash_dtype_size(STASH_DTYPE_BOOL), 1);
    assert_int_equal(stash_dtype_size(STASH_DTYPE_FLOAT16), 2);
    assert_int_equal(stash_dtype_size(STASH_DTYPE_COMPLEX128), 16);
    assert_int_equal(stash_dtype_size(STASH_DTYPE_COUNT), 0);
    assert_string_equal(stash_dtype_name(STASH_DTYPE_UINT32), "uint32");
    stash_dtype t;
    assert_ok(stash_dtype_from_name("complex64", &t));
    assert_int_equal(t, STASH_DTYPE_COMPLEX64);
    assert_int_equal(stash_dtype_from_name("object", &t), STASH_E_DTYPE);
}

static void test_counts_are_checked_for_overflow(void **state)
{
    (void)state;
    uint64_t n;
    stash_array_desc scalar = desc_of(STASH_DTYPE_FLOAT64, 0, NULL);
    assert_ok(stash_array_count(&scalar, &n));
    assert_int_equal(n, 1);
    assert_ok(stash_array_nbytes(&scalar, &n));
    assert_int_equal(n, 8);
    uint64_t huge[] = {(uint64_t)1 << 62};
    stash_array_desc d = desc_of(STASH_DTYPE_FLOAT64, 1, huge);
    assert_ok(stash_array_count(&d, &n));
    assert_int_equal(stash_array_nbytes(&d, &n), STASH_E_RANGE);
    uint64_t wide[] = {(uint64_t)1 << 32, (uint64_t)1 << 32};
    d = desc_of(STASH_DTYPE_UINT8, 2, wide);
    assert_int_equal(stash_array_count(&d, &n), STASH_E_RANGE);
    uint64_t empty[] = {UINT64_MAX, 0, UINT64_MAX};
    d = desc_of(STASH_DTYPE_FLOAT64, 3, empty); /* a zero wins over any size */
    assert_ok(stash_array_nbytes(&d, &n));
    assert_int_equal(n, 0);
    assert_int_equal(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 65, wide), STASH_E_INVALID);
}

static void test_descr_strings(void **state)
{
    (void)state;
    char buf[STASH_DESCR_MAX];
    stash_array_desc d = desc_of(STASH_DTYPE_COMPLEX128, 0, NULL);
    assert_ok(stash_array_descr(&d, buf));
    assert_string_equal(buf, "<c16");
    d.dtype = STASH_DTYPE_INT32;
    d.byte_order = STASH_BIG_ENDIAN;
    assert_ok(stash_array_descr(&d, buf));
    assert_string_equal(buf, ">i4");
    d.dtype = STASH_DTYPE_BOOL;
    assert_ok(stash_array_descr(&d, buf));
    assert_string_equal(buf, "|b1");

    stash_dtype t;
    stash_byte_order o;
    assert_ok(stash_array_parse_descr(">f2", 3, &t, &o));
    assert_true(t == STASH_DTYPE_FLOAT16 && o == STASH_BIG_ENDIAN);
    assert_ok(stash_array_parse_descr("<u1", 3, &t, &o)); /* NumPy writes "|", reads both */
    assert_int_equal(t, STASH_DTYPE_UINT8);
    const char *refused[] = {"|O", "<U5", "|S3", "<M8", "|V8", "<f3", "|f8", "f8", "<f8x", "<"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(stash_array_parse_descr(refused[i], strlen(refused[i]), &t, &o),
                         STASH_E_DTYPE);
}

static void test_to_native_swaps_each_element(void **state)
{
    (void)state;
    uint64_t shape[] = {2};
    stash_array_desc d = desc_of(STASH_DTYPE_COMPLEX64, 1, shape);
    d.byte_order = STASH_BIG_ENDIAN;
    unsigned char data[16] = {0x3f, 0x80, 0, 0, 0x40, 0, 0, 0, 0xbf, 0x80, 0, 0, 0, 0, 0, 0};
    assert_ok(stash_array_to_native(&d, data));
    float f[4];
    memcpy(f, data, sizeof f);
    assert_true(f[0] == 1.0f && f[1] == 2.0f && f[2] == -1.0f && f[3] == 0.0f);
    assert_int_equal(d.byte_order, STASH_LITTLE_ENDIAN);
}

/* ---- Writing: the bytes numpy.save writes --------------------------------- */

/* Checks the formatted header against NumPy's: the dict text, then spaces up
 * to a 64-byte boundary, then '\n'. */
static void check_header(const stash_array_desc *d, const char *dict)
{
    char buf[STASH_NPY_FORMATTED_MAX];
    size_t len;
    assert_ok(stash_npy_header_format(d, 0, buf, sizeof buf, &len));
    assert_int_equal(len % 64, 0);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
    assert_int_equal((unsigned char)buf[8] | (unsigned char)buf[9] << 8, len - 10);
    assert_memory_equal(buf + 10, dict, strlen(dict));
    for (size_t i = 10 + strlen(dict); i < len - 1; i++)
        assert_int_equal(buf[i], ' ');
    assert_int_equal(buf[len - 1], '\n');
}

static void test_headers_match_numpy_save(void **state)
{
    (void)state;
    /* Each dict is what numpy 1.24's np.save wrote, spare growth spaces included. */
    uint64_t s3[] = {3}, s23[] = {2, 3}, s13[] = {1, 3}, s03[] = {0, 3}, s5[] = {5};
    stash_array_desc d = desc_of(STASH_DTYPE_FLOAT64, 1, s3);
    check_header(&d, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
                     "                    ");
    d = desc_of(STASH_DTYPE_FLOAT64, 2, s23);
    d.order = STASH_ORDER_F;
    check_header(&d, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"
                     "                    ");
    d = desc_of(STASH_DTYPE_FLOAT64, 0, NULL);
    check_header(&d, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
    d = desc_of(STASH_DTYPE_FLOAT64, 2, s13);
    d.order = STASH_ORDER_F; /* also C-contiguous: NumPy says False */
    check_header(&d, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }"
                     "                    ");
    d = desc_of(STASH_DTYPE_FLOAT64, 2, s03);
    d.order = STASH_ORDER_F;
    check_header(&d, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }"
                     "                    ");
    d = desc_of(STASH_DTYPE_INT32, 1, s5);
    d.byte_order = STASH_BIG_ENDIAN;
    check_header(&d, "{'descr': '>i4', 'fortran_order': False, 'shape': (5,), }"
                     "                    ");
}

static void test_versions_can_be_forced(void **state)
{
    (void)state;
    uint64_t s3[] = {3};
    stash_array_desc d = desc_of(STASH_DTYPE_UINT16, 1, s3);
    char buf[STASH_NPY_FORMATTED_MAX];
    size_t len;
    for (unsigned major = 1; major <= 3; major++) {
        assert_ok(stash_npy_header_format(&d, major, buf, sizeof buf, &len));
        assert_int_equal(len % 64, 0);
        assert_int_equal(buf[6], (char)major);
        stash_npy_header h;
        assert_ok(stash_npy_header_parse(buf, len, &h));
        assert_int_equal(h.major, major);
        assert_int_equal(h.data_offset, len);
        assert_int_equal(h.desc.shape[0], 3);
    }
    assert_int_equal(stash_npy_header_format(&d, 4, buf, sizeof buf, &len), STASH_E_INVALID);
    assert_int_equal(stash_npy_header_format(&d, 0, buf, 32, &len), STASH_E_RANGE);
}

/* ---- Reading: every valid header ------------------------------------------ */

/* Wraps dict text in a version-1 (or 2) prefix, as a writer other than NumPy might. */
static size_t wrap_header(unsigned major, const char *dict, unsigned char *out)
{
    size_t text = strlen(dict), prefix = major == 1 ? 10 : 12;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++)
        out[8 + i] = (unsigned char)(text >> (8 * i));
    memcpy(out + prefix, dict, text);
    return prefix + text;
}

static stash_status parse_dict_text(unsigned major, const char *dict, stash_npy_header *h)
{
    unsigned char buf[8192];
    size_t len = wrap_header(major, dict, buf);
    return stash_npy_header_parse(buf, len, h);
}

static void test_any_valid_header_is_accepted(void **state)
{
    (void)state;
    stash_npy_header h;
    assert_ok(parse_dict_text(1, "{'shape': (2, 3), 'fortran_order': True, 'descr': '>c8'}", &h));
    assert_int_equal(h.desc.dtype, STASH_DTYPE_COMPLEX64);
    assert_int_equal(h.desc.byte_order, STASH_BIG_ENDIAN);
    assert_int_equal(h.desc.order, STASH_ORDER_F);
    assert_int_equal(h.desc.ndim, 2);
    assert_int_equal(h.data_bytes, 48);
    assert_ok(parse_dict_text(2, "{\"descr\":\"<i8\",\"fortran_order\":False,\"shape\":(4,)}", &h));
    assert_int_equal(h.desc.shape[0], 4);
    assert_ok(parse_dict_text(1, "\t{ 'descr' : '|u1' ,\n 'fortran_order' : False , "
                                 "'shape' : ( 2 , 3 , ) , }   \n", &h));
    assert_int_equal(h.desc.ndim, 2);
    assert_ok(parse_dict_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L)}",
                              &h)); /* Python 2 */
    assert_int_equal(h.desc.shape[1], 2);
    assert_ok(parse_dict_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", &h));
    assert_int_equal(h.desc.ndim, 0);
    assert_int_equal(h.data_bytes, 4);
    assert_ok(parse_dict_text(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,)}", &h));
    assert_int_equal(h.data_bytes, 0);
    /* A repeated key keeps its last value, as Python's dict literal does. */
    assert_ok(parse_dict_text(1, "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, "
                                 "'shape': (1,)}", &h));
    assert_int_equal(h.desc.dtype, STASH_DTYPE_FLOAT64);
}

static void test_bad_headers_are_refused_clearly(void **state)
{
    (void)state;
    stash_npy_header h;
    struct {
        const char *dict;
        stash_status expected;
    } cases[] = {
        {"{'descr': '|O', 'fortran_order': False, 'shape': (3,)}", STASH_E_DTYPE},
        {"{'descr': '<U8', 'fortran_order': False, 'shape': (3,)}", STASH_E_DTYPE},
        {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,)}", STASH_E_DTYPE},
        {"{'descr': '<q9', 'fortran_order': False, 'shape': (3,)}", STASH_E_DTYPE},
        {"{'descr': '<f8', 'shape': (3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': [3]}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': Falsey, 'shape': (3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': F0lse, 'shape': (3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} x", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3 4,)}", STASH_E_CORRUPT},
        {"{'descr': '<f\\x38', 'fortran_order': False, 'shape': (3,)}", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,)", STASH_E_CORRUPT},
        {"", STASH_E_CORRUPT},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}",
         STASH_E_RANGE},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
         STASH_E_RANGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stash_status status = parse_dict_text(1, cases[i].dict, &h);
        if (status != cases[i].expected)
            fail_msg("case %zu (%s): %s", i, cases[i].dict, stash_strerror(status));
    }
    /* 65 dimensions */
    char many[1024] = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
    for (int i = 0; i < 65; i++)
        strcat(many, "1,");
    strcat(many, ")}");
    assert_int_equal(parse_dict_text(1, many, &h), STASH_E_LIMIT);
}

static void test_bad_prefixes_are_refused_clearly(void **state)
{
    (void)state;
    stash_npy_header h;
    unsigned char buf[16] = "\x93NUMPY\x01\x00";
    assert_int_equal(stash_npy_header_parse(buf, 0, &h), STASH_E_TRUNCATED);
    assert_int_equal(stash_npy_header_parse(buf, 4, &h), STASH_E_TRUNCATED);
    assert_int_equal(stash_npy_header_parse("NUMPY\x01\x00\x00\x00", 10, &h), STASH_E_CORRUPT);
    assert_int_equal(stash_npy_header_parse("PK\x03\x04", 4, &h), STASH_E_CORRUPT);
    buf[6] = 4;
    assert_int_equal(stash_npy_header_parse(buf, 16, &h), STASH_E_VERSION);
    buf[6] = 1;
    buf[7] = 1;
    assert_int_equal(stash_npy_header_parse(buf, 16, &h), STASH_E_VERSION);
    buf[7] = 0;
    buf[8] = 0xff; /* claims 65535 bytes of header, has 6 */
    buf[9] = 0xff;
    assert_int_equal(stash_npy_header_parse(buf, 16, &h), STASH_E_TRUNCATED);
    unsigned char big[12] = "\x93NUMPY\x02\x00\x00\x00\x10\x00"; /* 1 MiB of header */
    assert_int_equal(stash_npy_header_parse(big, 12, &h), STASH_E_LIMIT);
}

/* ---- Files ---------------------------------------------------------------- */

static void test_save_load_and_map_round_trip(void **state)
{
    (void)state;
    uint64_t shape[] = {3, 4};
    stash_array_desc d = desc_of(STASH_DTYPE_FLOAT32, 2, shape);
    d.order = STASH_ORDER_F;
    float values[12];
    for (int i = 0; i < 12; i++)
        values[i] = (float)i * 1.5f;
    const char *path = path_in(dir, "roundtrip.npy");
    mode_t mask = umask(022);
    assert_ok(stash_npy_save(path, &d, values, 0));
    umask(mask);
    assert_int_equal(file_size(path), 128 + sizeof values);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644); /* as a plain create, not mkstemp's 0600 */

    stash_array_desc back;
    void *data = NULL;
    assert_ok(stash_npy_load(path, &back, &data));
    assert_int_equal(back.order, STASH_ORDER_F);
    assert_int_equal(back.ndim, 2);
    assert_memory_equal(data, values, sizeof values);
    free(data);

    stash_npy_map *map = NULL;
    assert_ok(stash_npy_map_open(path, &map));
    assert_int_equal(stash_npy_map_header(map)->data_offset, 128);
    assert_int_equal((uintptr_t)stash_npy_map_data(map) % 64, 0);
    assert_memory_equal(stash_npy_map_data(map), values, sizeof values);
    assert_ok(stash_npy_map_close(&map));
    assert_null(map);
    assert_int_equal(dir_entry_count(dir), 1); /* no temporary left behind */
    unlink(path);
}

static void test_durable_save_replaces_the_old_file(void **state)
{
    (void)state;
    const char *path = path_in(dir, "durable.npy");
    write_file(path, "old", 3);
    uint8_t bytes[5] = {1, 2, 3, 4, 5};
    uint64_t shape[] = {5};
    stash_array_desc d = desc_of(STASH_DTYPE_UINT8, 1, shape);
    assert_ok(stash_npy_save(path, &d, bytes, STASH_NPY_DURABLE));
    assert_int_equal(file_size(path), 128 + 5);
    assert_int_equal(stash_npy_save(path, &d, bytes, 1u << 5), STASH_E_INVALID);
    assert_int_equal(stash_npy_save(path_in(dir, "no/such/dir.npy"), &d, bytes, 0), -ENOENT);
    unlink(path);
}

static void test_short_files_are_truncated_not_crashes(void **state)
{
    (void)state;
    uint64_t shape[] = {100};
    stash_array_desc d = desc_of(STASH_DTYPE_FLOAT64, 1, shape);
    double values[100] = {0};
    const char *path = path_in(dir, "short.npy");
    assert_ok(stash_npy_save(path, &d, values, 0));
    assert_int_equal(truncate(path, 128 + 799), 0);
    stash_array_desc back;
    void *data = NULL;
    stash_npy_map *map = NULL;
    assert_int_equal(stash_npy_load(path, &back, &data), STASH_E_TRUNCATED);
    assert_int_equal(stash_npy_map_open(path, &map), STASH_E_TRUNCATED);
    assert_int_equal(truncate(path, 50), 0);
    assert_int_equal(stash_npy_load(path, &back, &data), STASH_E_TRUNCATED);
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(stash_npy_map_open(path, &map), STASH_E_TRUNCATED);
    assert_int_equal(stash_npy_load(path, &back, &data), STASH_E_TRUNCATED);
    assert_null(data);
    assert_null(map);
    unlink(path);
}

/* A header that claims 2^62 one-byte elements: refused before any allocation. */
static void test_huge_claims_allocate_nothing(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t len = wrap_header(1, "{'descr': '|u1', 'fortran_order': False, "
                                "'shape': (4611686018427387904,)}\n", buf);
    const char *path = path_in(dir, "huge.npy");
    write_file(path, buf, len);
    stash_array_desc back;
    void *data = NULL;
    assert_int_equal(stash_npy_load(path, &back, &data), STASH_E_TRUNCATED);
    stash_npy_map *map = NULL;
    assert_int_equal(stash_npy_map_open(path, &map), STASH_E_TRUNCATED);
    unlink(path);
}

static void test_stream_reads_leave_the_position_at_the_data(void **state)
{
    (void)state;
    stash_stream *s;
    assert_ok(stash_stream_open_growable(0, &s));
    assert_ok(stash_stream_write(s, "prefix", 6));
    uint64_t shape[] = {2};
    stash_array_desc d = desc_of(STASH_DTYPE_INT16, 1, shape);
    int16_t values[2] = {-7, 300};
    assert_ok(stash_npy_write(s, &d, values, 0));
    assert_ok(stash_stream_seek(s, 6, STASH_SEEK_SET, NULL));
    stash_npy_header h;
    assert_ok(stash_npy_read_header(s, &h));
    assert_int_equal(stash_stream_tell(s), 6 + 128);
    int16_t back[2];
    assert_ok(stash_stream_read_exact(s, back, sizeof back));
    assert_memory_equal(back, values, sizeof values);
    stash_stream_close(&s);
}

/* Runs fn(arg) in a child process and returns its wait status. */
static int in_child(void (*fn)(const void *arg), const void *arg)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        fn(arg);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return status;
}

static void cut_to_one_page(const void *path)
{
    if (truncate(path, 4096) != 0)
        _exit(1);
}

static void read_last_byte(const void *map)
{
    const stash_npy_header *h = stash_npy_map_header(map);
    const volatile unsigned char *data = stash_npy_map_data(map);
    (void)data[h->data_bytes - 1];
}

/* Opening reads the header with a read: the mapping holds no page until the data is used. */
static void test_map_open_touches_no_page_of_the_mapping(void **state)
{
    (void)state;
    if (under_valgrind() || access("/proc/self/smaps", R_OK) != 0)
        skip();
    uint64_t shape[1] = {1u << 16}; /* 512 KiB */
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, shape));
    double *values = calloc(shape[0], sizeof *values);
    values[0] = 7;
    const char *path = path_in(dir, "untouched.npy");
    assert_ok(stash_npy_save(path, &d, values, 0));
    free(values);
    stash_npy_map *map = NULL;
    assert_ok(stash_npy_map_open(path, &map));
    const double *data = stash_npy_map_data(map);
    assert_int_equal(mapping_rss_kb(data), 0);
    assert_true(data[0] == 7);
    assert_true(mapping_rss_kb(data) > 0);
    assert_ok(stash_npy_map_close(&map));
    unlink(path);
}

/* A header longer than the first read (4 KiB) is parsed from the mapping. */
static void test_map_open_reads_a_header_longer_than_a_page(void **state)
{
    (void)state;
    enum { TOTAL = 6016 }; /* the data's offset: a multiple of 64 */
    static const char dict[] = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
    unsigned char file[TOTAL + 12];
    memset(file, ' ', TOTAL);
    memcpy(file, "\x93NUMPY\x02\x00", 8);
    uint32_t header_len = TOTAL - 12;
    for (int i = 0; i < 4; i++)
        file[8 + i] = (unsigned char)(header_len >> (8 * i));
    memcpy(file + 12, dict, sizeof dict - 1);
    file[TOTAL - 1] = '\n';
    int32_t data[3] = {1, 2, 3}; /* little-endian hosts only, as '<i4' says */
    memcpy(file + TOTAL, data, sizeof data);
    const char *path = path_in(dir, "long-header.npy");
    write_file(path, file, sizeof file);
    stash_npy_map *map = NULL;
    assert_ok(stash_npy_map_open(path, &map));
    assert_int_equal(stash_npy_map_header(map)->data_offset, TOTAL);
    assert_int_equal(stash_npy_map_header(map)->desc.shape[0], 3);
    assert_memory_equal(stash_npy_map_data(map), data, sizeof data);
    assert_ok(stash_npy_map_close(&map));
    unlink(path);
}

/*
 * Another process cuts the file short, as a `cp` over it does before it
 * writes: reads through a stream (as stash_npy_load makes them) end with a
 * status - STASH_E_EOF mid-read, STASH_E_TRUNCATED from stash_npy_load -
 * while reading the lost pages of a map kills the reader, the hazard npy.h
 * documents.
 */
static void test_a_file_cut_by_another_process_is_truncated_to_copies_and_fatal_to_maps(
    void **state)
{
    (void)state;
    uint64_t shape[1] = {1u << 17}; /* 1 MiB: more than a stream buffers */
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, shape));
    double *values = calloc(shape[0], sizeof *values);
    const char *path = path_in(dir, "cut.npy");
    assert_ok(stash_npy_save(path, &d, values, 0));
    free(values);
    stash_npy_map *map = NULL;
    assert_ok(stash_npy_map_open(path, &map));
    stash_stream *s;
    stash_npy_header h;
    assert_ok(stash_stream_open_file(path, "r", &s));
    assert_ok(stash_npy_read_header(s, &h));
    int status = in_child(cut_to_one_page, path);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    void *data = malloc((size_t)h.data_bytes);
    assert_int_equal(stash_stream_read_exact(s, data, (size_t)h.data_bytes), STASH_E_EOF);
    free(data);
    data = NULL;
    stash_stream_close(&s);
    assert_int_equal(stash_npy_load(path, &d, &data), STASH_E_TRUNCATED);
    assert_null(data);
    if (!under_valgrind()) { /* valgrind reports the fault as its own error */
        status = in_child(read_last_byte, map);
        assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_ok(stash_npy_map_close(&map));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_names),
        cmocka_unit_test(test_counts_are_checked_for_overflow),
        cmocka_unit_test(test_descr_strings),
        cmocka_unit_test(test_to_native_swaps_each_element),
        cmocka_unit_test(test_headers_match_numpy_save),
        cmocka_unit_test(test_versions_can_be_forced),
        cmocka_unit_test(test_any_valid_header_is_accepted),
        cmocka_unit_test(test_bad_headers_are_refused_clearly),
        cmocka_unit_test(test_bad_prefixes_are_refused_clearly),
        cmocka_unit_test(test_save_load_and_map_round_trip),
        cmocka_unit_test(test_durable_save_replaces_the_old_file),
        cmocka_unit_test(test_short_files_are_truncated_not_crashes),
        cmocka_unit_test(test_a_file_cut_by_another_process_is_truncated_to_copies_and_fatal_to_maps),
        cmocka_unit_test(test_huge_claims_allocate_nothing),
        cmocka_unit_test(test_map_open_touches_no_page_of_the_mapping),
        cmocka_unit_test(test_map_open_reads_a_header_longer_than_a_page),
        cmocka_unit_test(test_stream_reads_leave_the_position_at_the_data),
    };
    return cmocka_run_group_tests_name("npy", tests, make_dir, NULL);
}
