/* SPDX-License-Identifier: BSD-2-Clause */
/* Binary upgrade on the fly, nginx's procedure. On USR2 the master renames
 * its pid file to PID.oldbin and runs the binary again (same path, same
 * argv) as its own child, handing over its listening sockets by number in
 * the environment: PORTICO_LISTEN="fd;fd;...". The new master adopts the
 * sockets its configuration listens on, closes the others, and writes the
 * pid file; if it exits, the old master renames PID.oldbin back. */
#ifndef PTC_CORE_UPGRADE_H
#define PTC_CORE_UPGRADE_H

#include "core/ptc_cycle.h"

#define PTC_UPGRADE_ENV "PORTICO_LISTEN"

/* Remember argv (the exec repeats it) and the parent process that
 * started us. Call once, first thing in main(). */
void ptc_upgrade_save_argv(char **argv);
/* The master detached from its parent (daemon on): from now on a USR2 is
 * never refused because of who the parent is. */
void ptc_upgrade_detached(void);

/* 0 when this master may change its binary; otherwise the pid of the
 * process that forbids it: its parent, while that is still the process
 * that started it (the old master of an upgrade, or a shell/supervisor
 * with daemon off, where an extra master would confuse it). */
pid_t ptc_upgrade_blocked_by(void);

/* Old master, on USR2: rename the pid file to "<pid>.oldbin", then fork
 * and exec the binary with PORTICO_LISTEN naming every listening socket of
 * `cycle`. Returns the new master's pid, or -1 (logged) with the pid file
 * left in place. */
pid_t ptc_upgrade_exec(ptc_cycle_t *cycle);
/* Old master, when the new master has exited: rename "<pid>.oldbin" back
 * to the pid file (logged). */
void ptc_upgrade_restore_pid(ptc_cycle_t *cycle);
/* Old master exiting while the new one runs: remove "<pid>.oldbin". */
void ptc_upgrade_delete_oldbin(ptc_cycle_t *cycle);

/* New master, before its first cycle is built: parse PORTICO_LISTEN (and
 * remove it from the environment). Each entry must be an open listening
 * stream socket of family inet, inet6 or unix; the others are noted,
 * closed when they are sockets, and left alone otherwise (a number that is
 * not a socket is not ours to close). Returns a stand-in "old cycle" that
 * holds the accepted sockets, for ptc_cycle_create to inherit from, or NULL
 * when this process was not started by an upgrade. */
ptc_cycle_t *ptc_upgrade_inherit(void);
/* New master, once its cycle is built from the stand-in: log what was
 * taken over, ignored and closed, and close the sockets the configuration
 * does not use. */
void ptc_upgrade_adopt(ptc_cycle_t *cycle);

/* True in a master started by an upgrade. */
bool ptc_upgrade_started(void);
/* True while the old master that started this one is still our parent: it
 * may still use the unix-domain socket files, so they must not be
 * unlinked. */
bool ptc_upgrade_parent_alive(void);

#endif
