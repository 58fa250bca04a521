/* events_consumer.c - receive bouncer's events from ZeroMQ and print them.
 *
 * Build:  cc -o events_consumer events_consumer.c $(pkg-config --cflags --libs libzmq)
 * Run:    ./events_consumer [ENDPOINT [COUNT]]
 *         ENDPOINT defaults to tcp://127.0.0.1:5556 ([events] endpoints);
 *         COUNT stops after that many events (default: run until killed).
 *
 * Each event is two frames: the topic, then a JSON object. This prints
 * "TOPIC JSON" per event on standard output and keeps the last seq seen:
 * a seq at or below it is a duplicate (delivery is at least once) and is
 * skipped; a jump past last + 1 means events may have been missed, and the
 * consumer should fetch them with `bouncerctl events --since LAST`.
 * A real consumer stores the last seq with the work it did for the event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_FRAME (1024 * 1024)

/* event_seq - the "seq" member of the event's top-level JSON object, -1
 * when absent. Events are flat objects written by PostgreSQL's jsonb, so
 * the key appears once, as "seq": N; inside a string value a quote is
 * always escaped (\"), so the pattern cannot match there. A consumer with a
 * JSON library at hand should use it instead. */
static long long
event_seq(const char *json)
{
    const char *p = strstr(json, "\"seq\":");

    if (p == NULL)
        return -1;
    p += strlen("\"seq\":");
    while (*p == ' ')
        p++;
    return strtoll(p, NULL, 10);
}

/* receive_frame - one frame into a NUL-terminated buffer; returns its
 * length (truncated to the buffer), -1 on error. */
static int
receive_frame(void *socket, char *buf, size_t size, int *more)
{
    size_t more_size = sizeof *more;
    int n = zmq_recv(socket, buf, size - 1, 0);

    if (n < 0)
        return -1;
    if ((size_t)n > size - 1)
        n = (int)(size - 1);    /* truncated: zmq_recv returns the full size */
    buf[n] = '\0';
    zmq_getsockopt(socket, ZMQ_RCVMORE, more, &more_size);
    return n;
}

int
main(int argc, char **argv)
{
    const char *endpoint = argc > 1 ? argv[1] : "tcp://127.0.0.1:5556";
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    long received = 0;
    long long last_seq = 0;     /* load the stored value here on restart */
    static char topic[256], json[MAX_FRAME];
    void *ctx = zmq_ctx_new();
    void *socket = zmq_socket(ctx, ZMQ_SUB);

    /* An empty prefix takes every topic; "bounce." would take only bounces. */
    zmq_setsockopt(socket, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(socket, endpoint) != 0) {
        fprintf(stderr, "events_consumer: cannot connect to %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        return 1;
    }
    while (count == 0 || received < count) {
        int more = 0;
        long long seq;

        if (receive_frame(socket, topic, sizeof topic, &more) < 0) {
            fprintf(stderr, "events_consumer: %s\n", zmq_strerror(zmq_errno()));
            break;
        }
        if (!more) {
            fprintf(stderr, "events_consumer: one-frame message ignored\n");
            continue;
        }
        if (receive_frame(socket, json, sizeof json, &more) < 0) {
            fprintf(stderr, "events_consumer: %s\n", zmq_strerror(zmq_errno()));
            break;
        }
        while (more) {          /* never sent by bouncerd; stay in step anyway */
            char skip[64];

            if (receive_frame(socket, skip, sizeof skip, &more) < 0)
                break;
        }
        seq = event_seq(json);
        if (seq >= 0 && seq <= last_seq) {
            fprintf(stderr, "events_consumer: duplicate seq %lld skipped\n", seq);
            continue;
        }
        if (seq > last_seq + 1 && last_seq > 0)
            fprintf(stderr, "events_consumer: seq %lld after %lld: run"
                    " 'bouncerctl events --since %lld' for what was missed\n",
                    seq, last_seq, last_seq);
        printf("%s %s\n", topic, json);
        fflush(stdout);
        if (seq >= 0)
            last_seq = seq;
        received++;
    }
    zmq_close(socket);
    zmq_ctx_term(ctx);
    return 0;
}
