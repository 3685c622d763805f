/*
 * batch.c - the caller-owned batch buffer.
 *
 *   buf: | msg 0 | msg 1 | ... | msg count-1 |   free ...   |
 *        <------------ len ---------------->
 *        <------------------- cap ----------------------------->
 *
 * Messages are appended whole by the builders (rtnl_*.c); sequence numbers
 * are written by nlc_sock_exec() just before sending.
 */
#include "internal.h"

NLC_EXPORT void
nlc_batch_init(struct nlc_batch *b, void *buf, size_t cap)
{
    b->buf = buf;
    b->cap = buf ? cap : 0;
    b->len = 0;
    b->count = 0;
    b->flags = 0;
}

NLC_EXPORT void
nlc_batch_reset(struct nlc_batch *b)
{
    b->len = 0;
    b->count = 0;
    b->flags = 0;
}
