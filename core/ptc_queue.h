/* SPDX-License-Identifier: BSD-2-Clause */
/* Intrusive circular doubly-linked queue; the sentinel is an empty node. */
#ifndef PTC_CORE_QUEUE_H
#define PTC_CORE_QUEUE_H

#include <stddef.h>

typedef struct ptc_queue_s ptc_queue_t;
struct ptc_queue_s {
    ptc_queue_t *prev;
    ptc_queue_t *next;
};

#define ptc_queue_init(q)     ((q)->prev = (q), (q)->next = (q))
#define ptc_queue_empty(h)    ((h) == (h)->prev)
#define ptc_queue_head(h)     ((h)->next)
#define ptc_queue_last(h)     ((h)->prev)
#define ptc_queue_sentinel(h) (h)
#define ptc_queue_next(q)     ((q)->next)
#define ptc_queue_insert_head(h, x)                                                                \
    ((x)->next = (h)->next, (x)->next->prev = (x), (x)->prev = (h), (h)->next = (x))
#define ptc_queue_insert_tail(h, x)                                                                \
    ((x)->prev = (h)->prev, (x)->prev->next = (x), (x)->next = (h), (h)->prev = (x))
#define ptc_queue_remove(x)                                                                        \
    ((x)->next->prev = (x)->prev, (x)->prev->next = (x)->next, (x)->prev = NULL, (x)->next = NULL)
#define ptc_queue_data(q, type, link) ((type *)((char *)(q)-offsetof(type, link)))

#endif
