/* A program outside the project, built against the installed stash. */
#include <stash/stash.h>

#include <stdio.h>

int main(void)
{
    stash_stream *s;
    uint32_t v = 0;
    if (stash_stream_open_growable(0, &s) != STASH_OK || stash_stream_write_u32be(s, 42) ||
        stash_stream_seek(s, 0, STASH_SEEK_SET, NULL) || stash_stream_read_u32be(s, &v) ||
        v != 42)
        return 1;
    stash_stream_close(&s);
    printf("consumer ok: stash %s\n", stash_version_string());
    return 0;
}
