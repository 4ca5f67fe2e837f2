/*
 * Paths that are not what a writer or reader expects: outputs that are
 * symlinks, FIFOs and devices; links planted where a temporary will be
 * named; inputs that would block or never end; and the lock that tells a
 * live writer's temporary from a dead one's. All through sysio, the one
 * seam every file stash writes or reads whole goes through.
 */
#include "core/sysio.h"

#include <stash/nco.h>
#include <stash/npy.h>
#include <stash/ring.h>
#include <stash/store.h>

#include "test_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static const char *dir;

static int set_up(void **state)
{
    (void)state;
    dir = scratch_dir();
    return 0;
}

static stash_status write_text(int fd, void *ctx)
{
    const char *text = ctx;
    return sysio_pwrite_full(fd, text, strlen(text), 0, NULL);
}

/* The whole of a small file as a string (static). */
static const char *contents(const char *path)
{
    static char buf[256];
    size_t n = read_file(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    return buf;
}

static bool is_symlink_to(const char *path, const char *target)
{
    char got[4096];
    ssize_t n = readlink(path, got, sizeof got - 1);
    if (n < 0)
        return false;
    got[n] = '\0';
    return strcmp(got, target) == 0;
}

/* ---- Outputs ---------------------------------------------------------------------------- */

static void test_publish_through_a_symlink_replaces_its_target_and_keeps_the_link(void **state)
{
    (void)state;
    char link[4096], real[4096];
    snprintf(real, sizeof real, "%s", path_in(dir, "real.txt"));
    snprintf(link, sizeof link, "%s", path_in(dir, "link.txt"));
    write_file(real, "old", 3);
    assert_int_equal(symlink("real.txt", link), 0); /* relative to the link's directory */
    assert_ok(sysio_publish_output(link, write_text, "new", false));
    assert_true(is_symlink_to(link, "real.txt"));
    assert_string_equal(contents(real), "new");
}

static void test_publish_follows_a_chain_of_links_across_directories(void **state)
{
    (void)state;
    char sub[4096], first[4096], second[4096], real[4096];
    snprintf(sub, sizeof sub, "%s", path_in(dir, "sub"));
    assert_int_equal(mkdir(sub, 0777), 0);
    snprintf(real, sizeof real, "%s", path_in(dir, "chain-end.txt"));
    snprintf(second, sizeof second, "%s", path_in(sub, "second"));
    snprintf(first, sizeof first, "%s", path_in(dir, "first"));
    write_file(real, "old", 3);
    assert_int_equal(symlink("../chain-end.txt", second), 0);
    assert_int_equal(symlink("sub/second", first), 0);
    assert_ok(sysio_publish_output(first, write_text, "new", false));
    assert_true(is_symlink_to(first, "sub/second"));
    assert_true(is_symlink_to(second, "../chain-end.txt"));
    assert_string_equal(contents(real), "new");
}

static void test_publish_through_a_dangling_link_creates_the_file_it_names(void **state)
{
    (void)state;
    char link[4096];
    snprintf(link, sizeof link, "%s", path_in(dir, "dangling"));
    assert_int_equal(symlink("made.txt", link), 0);
    assert_ok(sysio_publish_output(link, write_text, "made", false));
    assert_true(is_symlink_to(link, "made.txt"));
    assert_string_equal(contents(path_in(dir, "made.txt")), "made");
}

static void test_publish_refuses_a_link_loop_and_a_directory(void **state)
{
    (void)state;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", path_in(dir, "loop-a"));
    snprintf(b, sizeof b, "%s", path_in(dir, "loop-b"));
    assert_int_equal(symlink("loop-b", a), 0);
    assert_int_equal(symlink("loop-a", b), 0);
    assert_int_equal(sysio_publish_output(a, write_text, "x", false), -ELOOP);
    assert_true(is_symlink_to(a, "loop-b"));
    assert_int_equal(sysio_publish_output(dir, write_text, "x", false), -EISDIR);
}

/* A store-owned file is replaced whatever is there: a planted link is never followed. */
static void test_store_publish_replaces_a_planted_link_instead_of_following_it(void **state)
{
    (void)state;
    char link[4096], victim[4096];
    snprintf(victim, sizeof victim, "%s", path_in(dir, "victim-of-store"));
    snprintf(link, sizeof link, "%s", path_in(dir, "owned"));
    write_file(victim, "victim", 6);
    assert_int_equal(symlink(victim, link), 0);
    assert_ok(sysio_publish(link, write_text, "owned", false));
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(contents(victim), "victim");
}

/* A child that reads the FIFO to its end and sends what it read back through a pipe. */
static pid_t fifo_reader(const char *fifo, int *back)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(20);
        close(fds[0]);
        int in = open(fifo, O_RDONLY);
        char buf[256];
        ssize_t n;
        while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(fds[1], buf, (size_t)n) != n)
                _exit(1);
        _exit(in >= 0 ? 0 : 1);
    }
    close(fds[1]);
    *back = fds[0];
    return child;
}

static void test_publish_onto_a_fifo_writes_into_it(void **state)
{
    (void)state;
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s", path_in(dir, "out.fifo"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int back;
    pid_t child = fifo_reader(fifo, &back);
    alarm(20); /* a writer that never opens the FIFO fails the test, not hangs it */
    assert_ok(sysio_publish_output(fifo, write_text, "through the fifo", false));
    alarm(0);
    char got[256];
    size_t n = 0;
    ssize_t r;
    while ((r = read(back, got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)r;
    got[n] = '\0';
    close(back);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(got, "through the fifo");
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
}

static void assert_device_kept(const char *path, const struct stat *before)
{
    struct stat after;
    assert_int_equal(lstat(path, &after), 0);
    assert_true(S_ISCHR(after.st_mode));
    assert_int_equal(after.st_rdev, before->st_rdev);
    assert_int_equal(after.st_ino, before->st_ino);
}

static void test_publish_onto_dev_null_writes_into_the_device(void **state)
{
    (void)state;
    struct stat before;
    assert_int_equal(lstat("/dev/null", &before), 0);
    assert_ok(sysio_publish_output("/dev/null", write_text, "into the void", true));
    assert_device_kept("/dev/null", &before);
}

static void test_publish_onto_a_device_made_with_mknod_keeps_the_device(void **state)
{
    (void)state;
    char node[4096];
    snprintf(node, sizeof node, "%s", path_in(dir, "null-node"));
    if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        print_message("skipped: mknod needs root (CAP_MKNOD): %s\n", strerror(errno));
        skip();
    }
    struct stat before;
    assert_int_equal(lstat(node, &before), 0);
    assert_ok(sysio_publish_output(node, write_text, "into the node", false));
    assert_device_kept(node, &before);
    /* Through a link to it, too: the device is written, the link stays. */
    char link[4096];
    snprintf(link, sizeof link, "%s", path_in(dir, "link-to-node"));
    assert_int_equal(symlink("null-node", link), 0);
    assert_ok(sysio_publish_output(link, write_text, "again", false));
    assert_device_kept(node, &before);
    assert_true(is_symlink_to(link, "null-node"));
}

/* ---- Temporary names -------------------------------------------------------------------- */

/* Temporary names' random part, made predictable: 0, 1, 2, ... */
static uint64_t next_nonce;

static stash_status counting_nonce(void *buf, size_t len)
{
    assert_int_equal(len, sizeof next_nonce);
    memcpy(buf, &next_nonce, len);
    next_nonce++;
    return STASH_OK;
}

/* Links from the first count temporary names of path to victim. */
static void plant_links(const char *path, const char *victim, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        char temp[4200];
        snprintf(temp, sizeof temp, "%s.tmp-%ld-%016x", path, (long)getpid(), i);
        assert_int_equal(symlink(victim, temp), 0);
    }
}

static void assert_links_untouched(const char *path, const char *victim, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        char temp[4200];
        snprintf(temp, sizeof temp, "%s.tmp-%ld-%016x", path, (long)getpid(), i);
        assert_true(is_symlink_to(temp, victim));
    }
    assert_string_equal(contents(victim), "victim");
}

static void planted_links_are_skipped(bool unnamed_files)
{
    char path[4096], victim[4096];
    snprintf(path, sizeof path, "%s", path_in(dir, unnamed_files ? "unnamed.out" : "named.out"));
    snprintf(victim, sizeof victim, "%s", path_in(dir, "victim"));
    write_file(victim, "victim", 6);
    plant_links(path, victim, 10);
    struct sysio_seams saved = sysio_seams;
    sysio_seams = (struct sysio_seams){counting_nonce, unnamed_files};
    next_nonce = 0;
    stash_status status = sysio_publish(path, write_text, "published", false);
    sysio_seams = saved;
    assert_ok(status);
    assert_true(next_nonce > 10); /* every planted name was tried, and refused */
    assert_links_untouched(path, victim, 10);
    assert_string_equal(contents(path), "published");
}

static void test_planted_links_at_temporary_names_are_never_followed(void **state)
{
    (void)state;
    planted_links_are_skipped(false); /* created by name: O_CREAT | O_EXCL | O_NOFOLLOW */
    planted_links_are_skipped(true);  /* unnamed, then linked in: linkat never follows */
}

static void test_hdf5_new_file_never_follows_a_planted_link(void **state)
{
    (void)state;
    char path[4096], victim[4096], uri[4200];
    snprintf(path, sizeof path, "%s", path_in(dir, "new.h5"));
    snprintf(victim, sizeof victim, "%s", path_in(dir, "victim-h5"));
    snprintf(uri, sizeof uri, "hdf5:%s", path);
    write_file(victim, "victim", 6);
    plant_links(path, victim, 10);
    struct sysio_seams saved = sysio_seams;
    sysio_seams.random_bytes = counting_nonce;
    next_nonce = 0;
    stash_store *store = NULL;
    stash_status status = stash_store_open(uri, NULL, &store);
    sysio_seams = saved;
    assert_ok(status);
    stash_store_close(&store);
    assert_links_untouched(path, victim, 10);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_temporary_names_are_random(void **state)
{
    (void)state;
    struct sysio_aside a, b;
    const char *path = path_in(dir, "random.out");
    assert_ok(sysio_aside_open(path, &a));
    assert_ok(sysio_aside_open(path, &b));
    assert_ok(sysio_aside_name(&a, path));
    assert_ok(sysio_aside_name(&b, path));
    assert_string_not_equal(a.temp, b.temp);
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s.tmp-%ld-", path, (long)getpid());
    assert_int_equal(strncmp(a.temp, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(a.temp), strlen(prefix) + 16);
    sysio_aside_discard(&a);
    sysio_aside_discard(&b);
}

/* ---- Inputs ----------------------------------------------------------------------------- */

static void test_opening_a_fifo_for_input_is_refused_at_once(void **state)
{
    (void)state;
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s", path_in(dir, "in.fifo"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int fd = -1;
    alarm(20); /* no writer will ever come: a blocking open would hang here */
    assert_int_equal(sysio_open_input(fifo, &fd), STASH_E_NOT_FILE);
    assert_int_equal(sysio_open_input("/dev/null", &fd), STASH_E_NOT_FILE);
    assert_int_equal(sysio_open_input(dir, &fd), -EISDIR);
    alarm(0);
    assert_int_equal(fd, -1);
    assert_string_equal(stash_strerror(STASH_E_NOT_FILE),
                        "not a regular file (a FIFO, device or socket)");
}

/* Every library call that opens a caller's file refuses a FIFO at once, never waiting for a writer. */
static void test_library_opens_refuse_a_fifo_at_once(void **state)
{
    (void)state;
    char fifo[4096], uri[4200], index[4200];
    snprintf(fifo, sizeof fifo, "%s", path_in(dir, "lib.fifo"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20); /* a blocking open would hang here */
    stash_nco *nco = NULL;
    assert_int_equal(stash_nco_open(fifo, 0, &nco), STASH_E_NOT_FILE);
    stash_npy_map *map = NULL;
    assert_int_equal(stash_npy_map_open(fifo, &map), STASH_E_NOT_FILE);
    stash_array_desc d;
    void *data = NULL;
    assert_int_not_equal(stash_npy_load(fifo, &d, &data), STASH_OK);
    uint8_t byte = 7;
    uint64_t one = 1;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_UINT8, 1, &one));
    assert_int_equal(stash_nco_append(fifo, NULL, &d, &byte, 0), STASH_E_NOT_FILE);
    stash_store *s = NULL;
    snprintf(uri, sizeof uri, "hdf5:%s", fifo);
    assert_int_equal(stash_store_open(uri, NULL, &s), STASH_E_NOT_FILE);
    stash_ring *r = NULL;
    assert_int_equal(stash_ring_attach(fifo, 0, &r), STASH_E_CORRUPT);
    alarm(0);

    /* A FIFO planted as an NCO index or an hdf5: lock file hangs nothing either. */
    const char *nco_path = path_in(dir, "fifo-index.nco");
    assert_ok(stash_nco_pack(nco_path, NULL, &d, &byte, 0));
    snprintf(index, sizeof index, "%s.stashidx", nco_path);
    unlink(index);
    assert_int_equal(mkfifo(index, 0600), 0);
    alarm(20);
    assert_ok(stash_nco_open(nco_path, 0, &nco)); /* walked, not waited on */
    stash_nco_close(&nco);
    snprintf(index, sizeof index, "%s.lock", path_in(dir, "fifo-lock.h5"));
    assert_int_equal(mkfifo(index, 0600), 0);
    snprintf(uri, sizeof uri, "hdf5:%s", path_in(dir, "fifo-lock.h5"));
    assert_int_equal(stash_store_open(uri, NULL, &s), STASH_E_CORRUPT);
    alarm(0);
}

/* Rings and first NCO objects are linked in whole, never replacing, with or without O_TMPFILE. */
static void test_creators_link_whole_files_without_o_tmpfile(void **state)
{
    (void)state;
    for (int unnamed = 0; unnamed < 2; unnamed++) {
        sysio_seams.unnamed_files = unnamed;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s", path_in(dir, unnamed ? "create-unnamed" : "create-named"));
        assert_int_equal(mkdir(sub, 0700), 0);
        char ring_path[4200], nco_path[4200];
        snprintf(ring_path, sizeof ring_path, "%s/r.ring", sub);
        snprintf(nco_path, sizeof nco_path, "%s/first.nco", sub);
        stash_ring_config cfg = {.channels = 2, .capacity_samples = 1024,
                                 .dtype = STASH_DTYPE_FLOAT32};
        stash_ring *r = NULL, *again = NULL;
        assert_ok(stash_ring_create(ring_path, &cfg, &r));
        assert_int_equal(stash_ring_create(ring_path, &cfg, &again), -EEXIST);
        assert_ok(stash_ring_close(&r));
        uint8_t byte = 1;
        uint64_t one = 1;
        stash_array_desc d;
        assert_ok(stash_array_desc_init(&d, STASH_DTYPE_UINT8, 1, &one));
        assert_ok(stash_nco_append(nco_path, NULL, &d, &byte, 0));
        /* The ring, the NCO file and its index; no temporary left. */
        assert_int_equal(dir_entry_count(sub), 3);
        assert_ok(stash_ring_remove(ring_path));
    }
    sysio_seams.unnamed_files = true;
}

static void test_opened_input_is_blocking_again(void **state)
{
    (void)state;
    const char *path = path_in(dir, "plain");
    write_file(path, "plain", 5);
    int fd;
    assert_ok(sysio_open_input(path, &fd));
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
}

/* The open that also gives its fstat: a mapper keeps O_NONBLOCK and needs no second fstat. */
static void test_open_with_status_gives_its_fstat_and_keeps_nonblocking_if_asked(void **state)
{
    (void)state;
    const char *path = path_in(dir, "stated");
    write_file(path, "stated", 6);
    int fd;
    struct stat st, again;
    assert_ok(sysio_open_regular_stat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK, &fd, &st));
    assert_int_not_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_int_equal(fstat(fd, &again), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 6);
    assert_int_equal(st.st_ino, again.st_ino);
    close(fd);
    assert_ok(sysio_open_regular_stat(AT_FDCWD, path, O_RDONLY, &fd, &st));
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    fd = -1;
    alarm(20); /* asking for O_NONBLOCK changes nothing for what is refused */
    assert_int_equal(sysio_open_regular_stat(AT_FDCWD, "/dev/null", O_RDONLY | O_NONBLOCK, &fd,
                                             &st),
                     STASH_E_NOT_FILE);
    assert_int_equal(sysio_open_regular_stat(AT_FDCWD, dir, O_RDONLY | O_NONBLOCK, &fd, &st),
                     -EISDIR);
    alarm(0);
    assert_int_equal(fd, -1);
}

static void test_capped_reader_takes_exactly_its_limit(void **state)
{
    (void)state;
    const char *path = path_in(dir, "sized");
    write_file(path, "0123456789", 10);
    int fd;
    char *data = NULL;
    size_t len = 0;
    assert_ok(sysio_open_input(path, &fd));
    assert_ok(sysio_read_all(fd, 10, &data, &len));
    close(fd);
    assert_int_equal(len, 10);
    assert_string_equal(data, "0123456789");
    free(data);
    data = NULL;
    assert_ok(sysio_open_input(path, &fd));
    assert_int_equal(sysio_read_all(fd, 9, &data, &len), STASH_E_LIMIT);
    close(fd);
    assert_null(data);
}

/* This process's address space in bytes (/proc/self/statm counts pages). */
static size_t address_space_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void test_capped_reader_stops_on_dev_zero_within_an_address_space_limit(void **state)
{
    (void)state;
    bool limit_address_space = !under_valgrind();
#if defined(__SANITIZE_ADDRESS__)
    limit_address_space = false; /* ASan's shadow memory needs far more than the limit */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    limit_address_space = false;
#endif
#endif
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(60);
        /* Room for the 64 MiB cap several times over, not for an unbounded read. */
        rlim_t room = (rlim_t)(address_space_bytes() + ((size_t)512 << 20));
        struct rlimit limit = {room, room};
        if (limit_address_space && setrlimit(RLIMIT_AS, &limit) != 0)
            _exit(2);
        int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        char *data = NULL;
        size_t len = 0;
        stash_status status = sysio_read_all(fd, (size_t)64 << 20, &data, &len);
        _exit(status == STASH_E_LIMIT && data == NULL ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- Liveness of an aside file's writer ------------------------------------------------ */

/* A child that opens an aside file for path, names it, sends the name and waits to be killed. */
static pid_t aside_writer(const char *path, bool unnamed_files, char *name, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(60); /* gone, even if the test fails before it kills this */
        close(fds[0]);
        sysio_seams.unnamed_files = unnamed_files;
        struct sysio_aside a;
        if (sysio_aside_open(path, &a) != STASH_OK || sysio_aside_name(&a, path) != STASH_OK)
            _exit(1);
        const char *base = strrchr(a.temp, '/') + 1;
        if (write(fds[1], base, strlen(base) + 1) < 0)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    /* Up to the NUL: the child keeps the pipe open. */
    while ((n == 0 || name[n - 1] != '\0') && n < cap &&
           (r = read(fds[0], name + n, cap - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    assert_true(n > 0 && name[n - 1] == '\0');
    return child;
}

static void writer_holds_until_killed(bool unnamed_files)
{
    char name[4096];
    pid_t child = aside_writer(path_in(dir, "held.out"), unnamed_files, name, sizeof name);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    bool held = false;
    assert_ok(sysio_aside_held(dirfd, name, &held));
    assert_true(held);
    assert_int_equal(kill(child, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_ok(sysio_aside_held(dirfd, name, &held));
    assert_false(held);
    assert_int_equal(unlinkat(dirfd, name, 0), 0);
    close(dirfd);
}

static void test_aside_file_is_held_while_its_writer_lives_and_abandoned_after_sigkill(
    void **state)
{
    (void)state;
    writer_holds_until_killed(true);
    writer_holds_until_killed(false);
}

static void test_aside_held_says_no_for_what_is_not_an_aside_file(void **state)
{
    (void)state;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    assert_int_equal(symlinkat("/dev/null", dirfd, "x.tmp-link"), 0);
    assert_int_equal(mkfifoat(dirfd, "x.tmp-fifo", 0600), 0);
    bool held = true;
    assert_ok(sysio_aside_held(dirfd, "x.tmp-link", &held));
    assert_false(held);
    held = true;
    alarm(20);
    assert_ok(sysio_aside_held(dirfd, "x.tmp-fifo", &held));
    alarm(0);
    assert_false(held);
    held = true;
    assert_int_equal(sysio_aside_held(dirfd, "x.tmp-gone", &held), -ENOENT);
    assert_true(held); /* untouched on failure */
    close(dirfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_through_a_symlink_replaces_its_target_and_keeps_the_link),
        cmocka_unit_test(test_publish_follows_a_chain_of_links_across_directories),
        cmocka_unit_test(test_publish_through_a_dangling_link_creates_the_file_it_names),
        cmocka_unit_test(test_publish_refuses_a_link_loop_and_a_directory),
        cmocka_unit_test(test_store_publish_replaces_a_planted_link_instead_of_following_it),
        cmocka_unit_test(test_publish_onto_a_fifo_writes_into_it),
        cmocka_unit_test(test_publish_onto_dev_null_writes_into_the_device),
        cmocka_unit_test(test_publish_onto_a_device_made_with_mknod_keeps_the_device),
        cmocka_unit_test(test_planted_links_at_temporary_names_are_never_followed),
        cmocka_unit_test(test_hdf5_new_file_never_follows_a_planted_link),
        cmocka_unit_test(test_temporary_names_are_random),
        cmocka_unit_test(test_opening_a_fifo_for_input_is_refused_at_once),
        cmocka_unit_test(test_library_opens_refuse_a_fifo_at_once),
        cmocka_unit_test(test_creators_link_whole_files_without_o_tmpfile),
        cmocka_unit_test(test_opened_input_is_blocking_again),
        cmocka_unit_test(test_open_with_status_gives_its_fstat_and_keeps_nonblocking_if_asked),
        cmocka_unit_test(test_capped_reader_takes_exactly_its_limit),
        cmocka_unit_test(test_capped_reader_stops_on_dev_zero_within_an_address_space_limit),
        cmocka_unit_test(
            test_aside_file_is_held_while_its_writer_lives_and_abandoned_after_sigkill),
        cmocka_unit_test(test_aside_held_says_no_for_what_is_not_an_aside_file),
    };
    return cmocka_run_group_tests_name("hostile_paths", tests, set_up, NULL);
}
