/*
 * test_interrupt.c - the interruptible sleep the retry backoff uses: it
 * sleeps its whole time through EINTR from other signals (re-sleeping the
 * remainder, never spinning), and returns early once SIGINT/SIGTERM set the
 * flag. The flag cannot be cleared, so the signal test runs last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "source/db_common.h"
#include "util/retry.h"
#include "util/interrupt.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_usr1(int sig)
{
    (void)sig;
}

typedef struct {
    pthread_t target;
    int sig, times, every_ms;
} pelter;

static void *pelt(void *arg)
{
    pelter *p = arg;
    for (int i = 0; i < p->times; i++) {
        usleep((useconds_t)p->every_ms * 1000);
        pthread_kill(p->target, p->sig);
    }
    return NULL;
}

static void test_sleeps_whole_time(void **state)
{
    (void)state;
    double t0 = now_s();
    assert_int_equal(bronze_interrupt_sleep_ms(120), 0);
    double took = now_s() - t0;
    assert_true(took >= 0.119 && took < 1.0);
    assert_int_equal(bronze_interrupt_sleep_ms(0), 0);
}

static void test_eintr_resleeps_remainder(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: nanosleep fails with EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pelter p = {pthread_self(), SIGUSR1, 20, 10};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pelt, &p), 0);
    double t0 = now_s();
    assert_int_equal(bronze_interrupt_sleep_ms(300), 0);
    double took = now_s() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 0.299 && took < 1.5);
}

static void *raise_stop(void *arg)
{
    usleep(80 * 1000);
    atomic_store((atomic_bool *)arg, true);
    return NULL;
}

/* Another thread's stop flag cuts a sleep short; unset, the whole time. */
static void test_stop_flag_ends_sleep(void **state)
{
    (void)state;
    atomic_bool stop = false;
    double t0 = now_s();
    assert_int_equal(bronze_interrupt_sleep_ms_or(120, &stop), 0);
    assert_true(now_s() - t0 >= 0.119);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, raise_stop, &stop), 0);
    t0 = now_s();
    assert_int_equal(bronze_interrupt_sleep_ms_or(10000, &stop), -1);
    double took = now_s() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 0.079 && took < 0.5);
    assert_int_equal(bronze_interrupt_sleep_ms_or(10000, &stop), -1); /* set: at once */
    assert_int_equal(bronze_interrupted(), 0);
}

static void test_signal_ends_sleep(void **state)
{
    (void)state;
    bronze_interrupt_install();
    assert_int_equal(bronze_interrupted(), 0);
    pelter p = {pthread_self(), SIGINT, 1, 60};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pelt, &p), 0);
    double t0 = now_s();
    assert_int_equal(bronze_interrupt_sleep_ms(10000), -1);
    double took = now_s() - t0;
    pthread_join(th, NULL);
    assert_true(took < 0.5);
    assert_int_equal(bronze_interrupted(), SIGINT);
    /* once interrupted, every later wait (the retry backoff too) returns at once */
    t0 = now_s();
    assert_int_equal(bronze_interrupt_sleep_ms(10000), -1);
    assert_int_equal(bronze_retry_backoff_sleep(5), -1);
    assert_true(now_s() - t0 < 0.1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleeps_whole_time), cmocka_unit_test(test_eintr_resleeps_remainder),
        cmocka_unit_test(test_stop_flag_ends_sleep),
        cmocka_unit_test(test_signal_ends_sleep), /* last: the flag stays set */
    };
    return cmocka_run_group_tests_name("interrupt", tests, NULL, NULL);
}
