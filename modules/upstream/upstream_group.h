/* SPDX-License-Identifier: BSD-2-Clause */
/* Upstream groups as the HTTP proxy sees them: `upstream NAME { ... }`
 * blocks and the implicit groups behind `proxy_pass http://host:port`,
 * with their peers, balancer, and per-worker keep-alive pool. */
#ifndef PTC_MODULES_UPSTREAM_GROUP_H
#define PTC_MODULES_UPSTREAM_GROUP_H

#include "core/ptc_queue.h"
#include "modules/http/http.h"
#include "modules/upstream/upstream.h"

struct ptc_upstream_group_s {
    ptc_str_t name;
    const char *file; /* where it was defined (or first referenced) */
    unsigned line;
    ptc_upstream_peer_t *peers; /* primary tier */
    size_t npeers;
    ptc_upstream_peer_t *backup;
    size_t nbackup;
    ptc_array_t *servers; /* config time: ptc_upstream_peer_t being collected */
    const ptc_upstream_balancer_t *balancer;
    ptc_upstream_random_conf_t random_conf;
    ptc_http_complex_value_t *hash_key; /* hash KEY */
    void *data;                         /* balancer data of each tier */
    void *backup_data;
    bool ip_hash;
    bool implicit;    /* made by proxy_pass host:port, not a block */
    bool defined;     /* an upstream {} block exists */
    int port;         /* implicit groups: the port asked for */
    size_t keepalive; /* idle connections kept per worker, 0: none */
    int64_t keepalive_requests;
    ptc_msec_t keepalive_timeout;
    ptc_msec_t keepalive_time;
    ptc_queue_t idle; /* per worker: idle keep-alive connections */
    size_t nidle;
    size_t queue_max; /* `queue N`: requests held while every peer is busy */
    ptc_msec_t queue_timeout;
    ptc_queue_t waiting; /* per worker: held requests (owner-defined nodes) */
    size_t nwaiting;
    ptc_str_t zone_name; /* `zone`: peer state shared by all workers */
    size_t zone_size;
    volatile uint32_t *lock; /* in the zone; NULL without a zone */
    char zone_msg[128];      /* the zone's init error, if any */
    const char *zone_file;   /* where `zone` was written */
    unsigned zone_line;
};

/* Find or create the group named `name` (an upstream block's name, or
 * "host:port" for proxy_pass without a block). With `implicit`, the name
 * is resolved now (getaddrinfo at config time) into one peer per address;
 * `default_port` applies when name has no port, and implicit groups of the
 * same name with another default port are distinct. NULL on error
 * (reported). */
ptc_upstream_group_t *ptc_upstream_group_get(ptc_conf_t *cf, const ptc_str_t *name, bool implicit,
                                             int default_port);

/* Per request: choose a peer (primary tier first, then backup). Returns
 * NULL when no peer is usable. `pick` and `backup_pick` keep the per-tier
 * tried bits across retries of one request. */
ptc_upstream_peer_t *ptc_upstream_group_pick(ptc_upstream_group_t *g, ptc_http_request_t *r,
                                             ptc_upstream_pick_t *pick,
                                             ptc_upstream_pick_t *backup_pick);

/* Peer state changes go through these so that, with a `zone`, every
 * worker sees them (under the zone's lock). */
void ptc_upstream_group_release(ptc_upstream_group_t *g, ptc_upstream_peer_t *peer, int outcome);
void ptc_upstream_group_conns(ptc_upstream_group_t *g, ptc_upstream_peer_t *peer, int delta);

/* Is every usable peer only held back by max_conns (so waiting helps)? */
bool ptc_upstream_group_busy(ptc_upstream_group_t *g);

/* Is any peer left that this request has not tried and may use now? Does
 * not change balancer state (unlike a pick). */
bool ptc_upstream_group_has_next(ptc_upstream_group_t *g, const ptc_upstream_pick_t *pick,
                                 const ptc_upstream_pick_t *backup_pick);

/* At run time (proxy_pass with variables): the configured group of that
 * name, or a one-peer group for a literal address made in r->pool
 * (`default_port` when it has none: 80, or 443 for https); NULL when the
 * name is neither (no resolver at run time). */
ptc_upstream_group_t *ptc_upstream_group_for(ptc_http_request_t *r, const ptc_str_t *name,
                                             int default_port);

extern ptc_module_t ptc_upstream_module;

#endif
