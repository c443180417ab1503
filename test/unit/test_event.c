/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_event.c through its public API: the timer heap (expiry
 * order, delete, re-arm, flags, the cancelable count) and posted events.
 * The heap and the posted queue are process-wide, so every test empties
 * them before it returns, even on failure. */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "core/ptc_event.h"
#include "core/ptc_log.h"
#include "core/ptc_time.h"
#include "test/unit/unit.h"

void suite_event(void);

#define EV_N   64
#define EV_FAR 4

static ptc_event_t ev_timers[EV_N], ev_far[EV_FAR], ev_posted[4];
static int ev_order[EV_N * 2];       /* ids in the order handlers ran */
static ptc_msec_t ev_fired_at[EV_N]; /* ptc_current_msec when each ran */
static size_t ev_fired;

/* Handlers record ev->data (an id) in ev_order. */
static void
ev_record(ptc_event_t *ev)
{
    int id = (int)(intptr_t)ev->data;
    if (ev_fired < ptc_nelems(ev_order)) {
        ev_order[ev_fired] = id;
    }
    if (id >= 0 && id < EV_N) {
        ev_fired_at[id] = ptc_current_msec;
    }
    ev_fired++;
}

/* Forget every timer and posted event the tests may have left armed. */
static void
ev_reset(void)
{
    ptc_event_t *sets[] = {ev_timers, ev_far, ev_posted};
    size_t ns[] = {EV_N, EV_FAR, ptc_nelems(ev_posted)};
    for (size_t s = 0; s < ptc_nelems(sets); s++) {
        for (size_t i = 0; i < ns[s]; i++) {
            ptc_event_del_timer(&sets[s][i]);
            ptc_event_delete_posted(&sets[s][i]);
            memset(&sets[s][i], 0, sizeof(ptc_event_t));
            sets[s][i].timer_index = -1;
            sets[s][i].handler = ev_record;
            sets[s][i].log = &ptc_log_startup;
            sets[s][i].data = (void *)(intptr_t)((int)s * 1000 + (int)i);
        }
    }
    memset(ev_order, -1, sizeof(ev_order));
    memset(ev_fired_at, 0, sizeof(ev_fired_at));
    ev_fired = 0;
}

static ptc_msec_t
ev_now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ptc_msec_t)ts.tv_sec * 1000 + (ptc_msec_t)(ts.tv_nsec / 1000000);
}

static void
ev_on_alarm(int sig)
{
}

/* Run the loop until `want` handlers ran; false after about a second.
 * A 50 ms interval timer interrupts epoll_pwait (EINTR), so a broken heap
 * that waits for the wrong timer fails the test instead of hanging it. */
static bool
ev_run_until(size_t want)
{
    struct sigaction sa = {.sa_handler = ev_on_alarm}, old;
    struct itimerval tick = {{0, 50000}, {0, 50000}}, off = {{0, 0}, {0, 0}};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    setitimer(ITIMER_REAL, &tick, NULL);
    ptc_msec_t deadline = ev_now_real() + 1000;
    while (ev_fired < want && ev_now_real() <= deadline) {
        ptc_event_process();
    }
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    return ev_fired >= want;
}

/* One pass of the loop that returns at once: a posted event forces a zero
 * timeout. It records id 2003. */
static void
ev_process_once(void)
{
    ptc_event_post(&ev_posted[3]);
    ptc_event_process();
}

static void
ev_cleanup(void)
{
    ev_reset();
    ptc_event_done();
}

static void
event_timer_heap_order_body(void)
{
    /* Time stands 1 s behind the clock while arming, so every timer below
     * 1000 ms is already due at the first ptc_time_update() in the loop. */
    ptc_time_update();
    ptc_msec_t base = ptc_current_msec;
    ASSERT_TRUE(base > 1000);
    ptc_current_msec = base - 1000;

    ptc_msec_t delay[EV_N];
    for (int i = 0; i < EV_N; i++) {
        delay[i] = (ptc_msec_t)((i * 37) % EV_N + 1); /* a permutation of 1..64 */
        ptc_event_add_timer(&ev_timers[i], delay[i]);
        ASSERT_TRUE(ev_timers[i].timer_set);
        ASSERT_INT_EQ(ev_timers[i].timer_key, base - 1000 + delay[i]);
        ASSERT_TRUE(ev_timers[i].timer_index >= 0 && ev_timers[i].timer_index <= i);
    }
    for (int i = 0; i < EV_FAR; i++) {
        ptc_event_add_timer(&ev_far[i], 600000 + (ptc_msec_t)i);
    }
    bool gone[EV_N] = {false};
    for (int i = 0; i < EV_N; i += 5) {
        ptc_event_del_timer(&ev_timers[i]);
        ASSERT_TRUE(!ev_timers[i].timer_set);
        ASSERT_INT_EQ(ev_timers[i].timer_index, -1);
        gone[i] = true;
    }
    ptc_event_del_timer(&ev_timers[0]); /* deleting twice is harmless */
    /* Re-arming an armed timer moves it: these now expire after the rest. */
    for (int i = 3; i < EV_N; i += 7) {
        if (!gone[i]) {
            delay[i] = 100 + (ptc_msec_t)i;
            ptc_event_add_timer(&ev_timers[i], delay[i]);
        }
    }
    /* ... and the smallest delay moves to the top. */
    delay[1] = 0;
    ptc_event_add_timer(&ev_timers[1], 0);
    ASSERT_INT_EQ(ev_timers[1].timer_index, 0);
    /* A deleted timer can be armed again. */
    gone[10] = false;
    delay[10] = 300;
    ptc_event_add_timer(&ev_timers[10], 300);

    size_t want = 0;
    for (int i = 0; i < EV_N; i++) {
        want += !gone[i];
    }
    ASSERT_INT_EQ(want, EV_N - 12);
    ASSERT_TRUE(ev_run_until(want));
    ASSERT_INT_EQ(ev_fired, want);
    ASSERT_TRUE(ptc_current_msec >= base);
    /* Ids in expiry order: each fired one's delay is larger than the last. */
    for (size_t k = 0; k < want; k++) {
        int id = ev_order[k];
        ASSERT_TRUE(id >= 0 && id < EV_N);
        ASSERT_TRUE(!gone[id]);
        if (k > 0) {
            ASSERT_TRUE(delay[id] > delay[ev_order[k - 1]]);
        }
    }
    ASSERT_INT_EQ(ev_order[0], 1);
    ASSERT_INT_EQ(ev_order[want - 1], 10);
    for (int i = 0; i < EV_N; i++) {
        ASSERT_TRUE(!ev_timers[i].timer_set);
        ASSERT_INT_EQ(ev_timers[i].timer_index, -1);
        ASSERT_INT_EQ(ev_timers[i].timedout, !gone[i]);
    }
    /* Far timers are still armed; nothing fires twice. */
    for (int i = 0; i < EV_FAR; i++) {
        ASSERT_TRUE(ev_far[i].timer_set);
        ASSERT_TRUE(!ev_far[i].timedout);
    }
    ev_process_once();
    ASSERT_INT_EQ(ev_fired, want + 1);
    ASSERT_INT_EQ(ev_order[want], 2003);
}

TEST(event_timer_heap_order)
{
    ASSERT_INT_EQ(ptc_event_init(&ptc_log_startup), PTC_OK);
    ev_reset();
    event_timer_heap_order_body();
    ev_cleanup();
}

static void
event_timer_real_clock_body(void)
{
    static const ptc_msec_t delays[] = {30, 5, 20, 1, 25, 10, 15, 3, 12, 8};
    size_t n = ptc_nelems(delays);
    ptc_time_update();
    ptc_msec_t start = ptc_current_msec;
    for (size_t i = 0; i < n; i++) {
        ptc_event_add_timer(&ev_timers[i], delays[i]);
    }
    ptc_event_add_timer(&ev_timers[n], 18);
    ptc_event_del_timer(&ev_timers[n]);
    ASSERT_TRUE(ev_run_until(n));
    ASSERT_INT_EQ(ev_fired, n);
    static const int want[] = {3, 7, 1, 9, 5, 8, 6, 2, 4, 0};
    for (size_t k = 0; k < n; k++) {
        ASSERT_INT_EQ(ev_order[k], want[k]);
        /* a timer never runs before its expiry */
        int id = ev_order[k];
        ASSERT_TRUE(ev_fired_at[id] >= start + delays[id]);
        ASSERT_TRUE(ev_timers[id].timedout);
    }
    ASSERT_TRUE(!ev_timers[n].timedout);
    ASSERT_INT_EQ(ev_fired_at[n], 0);
}

TEST(event_timer_real_clock)
{
    ASSERT_INT_EQ(ptc_event_init(&ptc_log_startup), PTC_OK);
    ev_reset();
    event_timer_real_clock_body();
    ev_cleanup();
}

/* A handler that deletes another due timer and re-arms itself once. */
static void
ev_meddle(ptc_event_t *ev)
{
    ev_record(ev);
    ptc_event_del_timer(&ev_timers[2]);
    if (ev_fired == 1) {
        ptc_event_add_timer(ev, 0);
    }
}

static void
event_timer_handler_changes_heap_body(void)
{
    ptc_time_update();
    ptc_current_msec -= 1000;
    ev_timers[0].handler = ev_meddle;
    ptc_event_add_timer(&ev_timers[0], 1);
    ptc_event_add_timer(&ev_timers[1], 3);
    ptc_event_add_timer(&ev_timers[2], 2);
    ASSERT_TRUE(ev_run_until(3));
    ev_process_once();
    /* 0 ran, deleted 2 and re-armed itself for "now", which is due in the
     * same pass but after 1, whose expiry is older. */
    ASSERT_INT_EQ(ev_fired, 4);
    ASSERT_INT_EQ(ev_order[0], 0);
    ASSERT_INT_EQ(ev_order[1], 1);
    ASSERT_INT_EQ(ev_order[2], 0);
    ASSERT_INT_EQ(ev_order[3], 2003);
    ASSERT_TRUE(!ev_timers[2].timedout);
    ASSERT_TRUE(!ev_timers[0].timer_set);
}

TEST(event_timer_handler_changes_heap)
{
    ASSERT_INT_EQ(ptc_event_init(&ptc_log_startup), PTC_OK);
    ev_reset();
    event_timer_handler_changes_heap_body();
    ev_cleanup();
}

static void
event_timers_cancelable_body(void)
{
    ptc_time_update();
    ASSERT_TRUE(ptc_event_timers_only_cancelable());
    ev_timers[0].cancelable = 1;
    ptc_event_add_timer(&ev_timers[0], 50000);
    ASSERT_TRUE(ptc_event_timers_only_cancelable());
    ptc_event_add_timer(&ev_timers[1], 50000);
    ASSERT_TRUE(!ptc_event_timers_only_cancelable());
    /* re-arming must not count the timer twice */
    ptc_event_add_timer(&ev_timers[1], 60000);
    ptc_event_add_timer(&ev_timers[2], 70000);
    ptc_event_del_timer(&ev_timers[1]);
    ASSERT_TRUE(!ptc_event_timers_only_cancelable());
    ptc_event_del_timer(&ev_timers[2]);
    ASSERT_TRUE(ptc_event_timers_only_cancelable());
    ptc_event_del_timer(&ev_timers[2]);
    ASSERT_TRUE(ptc_event_timers_only_cancelable());
    /* an expired non-cancelable timer stops counting */
    ptc_current_msec -= 1000;
    ptc_event_add_timer(&ev_timers[3], 1);
    ASSERT_TRUE(!ptc_event_timers_only_cancelable());
    ASSERT_TRUE(ev_run_until(1));
    ASSERT_INT_EQ(ev_order[0], 3);
    ASSERT_TRUE(ptc_event_timers_only_cancelable());
    ptc_event_del_timer(&ev_timers[0]);
    ASSERT_TRUE(ptc_event_timers_only_cancelable());
}

TEST(event_timers_only_cancelable)
{
    ASSERT_INT_EQ(ptc_event_init(&ptc_log_startup), PTC_OK);
    ev_reset();
    event_timers_cancelable_body();
    ev_cleanup();
}

/* A posted handler that posts another event: it runs in the same pass. */
static void
ev_post_next(ptc_event_t *ev)
{
    ev_record(ev);
    ptc_event_post(&ev_posted[2]);
}

static void
event_posted_body(void)
{
    ptc_time_update();
    ptc_event_post(&ev_posted[0]);
    ptc_event_post(&ev_posted[1]);
    ptc_event_post(&ev_posted[0]); /* already queued: no second run */
    ASSERT_TRUE(ev_posted[0].is_posted);
    ptc_event_process();
    ASSERT_INT_EQ(ev_fired, 2);
    ASSERT_INT_EQ(ev_order[0], 2000);
    ASSERT_INT_EQ(ev_order[1], 2001);
    ASSERT_TRUE(!ev_posted[0].is_posted);
    ASSERT_TRUE(!ev_posted[1].is_posted);

    /* A deleted posted event does not run. */
    ptc_event_post(&ev_posted[0]);
    ptc_event_post(&ev_posted[1]);
    ptc_event_delete_posted(&ev_posted[0]);
    ASSERT_TRUE(!ev_posted[0].is_posted);
    ptc_event_delete_posted(&ev_posted[0]);
    ptc_event_process();
    ASSERT_INT_EQ(ev_fired, 3);
    ASSERT_INT_EQ(ev_order[2], 2001);

    ev_posted[1].handler = ev_post_next;
    ptc_event_post(&ev_posted[1]);
    ptc_event_process();
    ASSERT_INT_EQ(ev_fired, 5);
    ASSERT_INT_EQ(ev_order[3], 2001);
    ASSERT_INT_EQ(ev_order[4], 2002);
    ASSERT_TRUE(!ev_posted[2].is_posted);
}

TEST(event_posted)
{
    ASSERT_INT_EQ(ptc_event_init(&ptc_log_startup), PTC_OK);
    ev_reset();
    event_posted_body();
    ev_cleanup();
}

void
suite_event(void)
{
    RUN(event_timer_heap_order);
    RUN(event_timer_real_clock);
    RUN(event_timer_handler_changes_heap);
    RUN(event_timers_only_cancelable);
    RUN(event_posted);
}
