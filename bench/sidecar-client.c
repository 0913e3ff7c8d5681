/*
 * The framed-socket client of `coldrl bench sidecar` (the default; `--client node` uses sidecar/client.ts).
 * It asks the way nginx/ngx_http_coldrl_module.c does: one request at a time on one connection, a blocking
 * send, then ppoll() with a microsecond timeout until the answer with its request id is read, or the timeout
 * passes: then it gives up on that request (a "timeout": the module decides it by LRU) and goes on. Requests
 * are paced by absolute clock_nanosleep at RATE per second; a request whose send time has passed goes out at
 * once (no coordinated omission: its round trip counts from its send).
 *
 *   sidecar-client SOCKET BODIES TOTAL RATE WARMUP TIMEOUT_US
 *
 * BODIES: DecideRequest frames (4-byte big-endian length + body, without request_id; the bench puts the
 * module's budget_us in them), cycled; the client puts request_id = i + 1 in front of each body.
 * TIMEOUT_US: how long to wait for one answer (the module's coldrl_timeout).
 * A late answer still counts where it came from: while any is outstanding the client reads the socket
 * between requests (ppoll until the next send time instead of sleeping), and after the last request it
 * listens up to 1 s more, so a late answer's round trip and reason are its own. Requests never answered
 * by then count with the time the client listened for them (a lower bound) under "unanswered".
 * Prints one JSON object (requests after WARMUP): round-trip quantiles (microseconds), server_us quantiles
 * (answered requests), "model": model answers in time (the decisions the module takes from the model),
 * "timeouts", "unanswered", "errors" (error answers, any time), "streaks": how often 3 requests in a row
 * timed out or got an error answer (the module's breaker opens there; the client keeps asking), "byReason": every answer by its reason,
 * index 0 = model answers, late ones included (what the sidecar's own counters show), and the version of
 * the model that answered last in time (from the sidecar).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000ull + (uint64_t) t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double quantile(const double *sorted, long n, double q)
{
    long i;
    if (n <= 0) return 0;
    i = (long) (q * (double) n + 0.999999) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return sorted[i];
}

static uint64_t varint(const unsigned char *b, size_t end, size_t *p)
{
    uint64_t v = 0;
    int shift = 0;
    while (*p < end) {
        unsigned char c = b[(*p)++];
        v |= (uint64_t) (c & 0x7f) << shift;
        if (!(c & 0x80)) break;
        shift += 7;
    }
    return v;
}

struct answer { uint64_t id; int source, reason, error; uint32_t server_us; char version[64]; };

/* Parses one DecideResponse body; 0 on success. */
static int parse(const unsigned char *b, size_t len, struct answer *a)
{
    size_t p = 0;
    memset(a, 0, sizeof *a);
    while (p < len) {
        uint64_t tag = varint(b, len, &p), v = 0;
        int wire = (int) (tag & 7), field = (int) (tag >> 3);
        if (wire == 0) v = varint(b, len, &p);
        else if (wire == 1) p += 8;
        else if (wire == 5) p += 4;
        else if (wire == 2) {
            uint64_t l = varint(b, len, &p);
            if (field == 7) a->error = 1;
            if (field == 5 && p + l <= len) {
                size_t c = l < sizeof a->version - 1 ? (size_t) l : sizeof a->version - 1;
                memcpy(a->version, b + p, c);
                a->version[c] = '\0';
            }
            p += l;
        }
        else return -1;
        if (field == 1) a->id = v;
        else if (field == 3) a->source = (int) v;
        else if (field == 4) a->reason = (int) v;
        else if (field == 6) a->server_us = (uint32_t) v;
    }
    return p == len ? 0 : -1;
}

/* the counted requests (after WARMUP): send times, round trips, and what came back */
struct run {
    long       warmup, model, timeouts, pending, errors, nsrv, by_reason[8];
    long       streak, streaks;         /* timeouts or error answers in a row (ngx_http_coldrl_breaker) */
    uint64_t  *sent;
    unsigned char *late;                /* 1: given up on, its answer not read yet */
    double    *rtt, *srv;
    char       version[64];
};

static unsigned char rx[1 << 16];
static size_t rxl;

/* One answer read at `now`: 1 when it is the one being waited for (id `waiting`, 0: none), else 0. */
static int take(struct run *r, const struct answer *a, uint64_t waiting, uint64_t now)
{
    int in_time = waiting != 0 && a->id == waiting;
    long k = (long) a->id - 1 - r->warmup;
    if (a->id == 0 || k < 0) return in_time;
    if (!in_time) {
        if (!r->late[k]) return 0;      /* not one we gave up on (or already read) */
        r->late[k] = 0;
        r->pending--;
    }
    r->rtt[k] = (double) (now - r->sent[k]) / 1e3;
    r->srv[r->nsrv++] = a->server_us;
    if (in_time) {
        if (!a->error) r->streak = 0;   /* an answer in time, the model's or a FALLBACK */
        else if (++r->streak == 3) r->streaks++;
    }
    if (a->error) r->errors++;
    else if (a->source == 1) {
        r->by_reason[0]++;
        if (in_time) { r->model++; memcpy(r->version, a->version, sizeof r->version); }
    }
    else r->by_reason[a->reason & 7]++;
    return in_time;
}

/* Reads what the socket holds and takes every whole frame: 1 if the answer to `waiting` was among them, -1 on failure. */
static int pump(int fd, struct run *r, uint64_t waiting)
{
    ssize_t got = recv(fd, rx + rxl, sizeof rx - rxl, MSG_DONTWAIT);
    if (got == 0) { fprintf(stderr, "sidecar-client: the sidecar closed the connection\n"); return -1; }
    if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : (perror("recv"), -1);
    rxl += (size_t) got;
    uint64_t now = now_ns();
    int found = 0;
    while (rxl >= 4) {
        size_t l = ((size_t) rx[0] << 24) | ((size_t) rx[1] << 16) | ((size_t) rx[2] << 8) | rx[3];
        if (l > sizeof rx - 4) { fprintf(stderr, "sidecar-client: bad frame length %zu\n", l); return -1; }
        if (rxl < 4 + l) break;
        struct answer a;
        int bad = parse(rx + 4, l, &a);
        if (!bad && take(r, &a, waiting, now)) found = 1;
        memmove(rx, rx + 4 + l, rxl - 4 - l);
        rxl -= 4 + l;
    }
    return found;
}

/* Waits for input until `until` (CLOCK_MONOTONIC ns): 1 readable, 0 timed out, -1 failure. */
static int wait_in(int fd, uint64_t until)
{
    uint64_t now = now_ns();
    if (now >= until) return 0;
    struct pollfd pfd = { fd, POLLIN, 0 };
    struct timespec w = { (time_t) ((until - now) / 1000000000ull), (long) ((until - now) % 1000000000ull) };
    int rc = ppoll(&pfd, 1, &w, NULL);
    if (rc < 0 && errno != EINTR) { perror("ppoll"); return -1; }
    return rc > 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: sidecar-client SOCKET BODIES TOTAL RATE WARMUP TIMEOUT_US\n");
        return 2;
    }
    const char *path = argv[1];
    long total = atol(argv[3]), warmup = atol(argv[5]);
    double rate = atof(argv[4]);
    uint64_t timeout_ns = (uint64_t) atol(argv[6]) * 1000ull;
    if (total <= warmup || rate <= 0) { fprintf(stderr, "sidecar-client: TOTAL > WARMUP and RATE > 0\n"); return 2; }

    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 2; }
    static unsigned char bodies[1 << 22];
    size_t blen = fread(bodies, 1, sizeof bodies, f);
    fclose(f);
    static size_t off[65536], len[65536];
    long nb = 0;
    for (size_t p = 0; p + 4 <= blen && nb < 65536; ) {
        size_t l = ((size_t) bodies[p] << 24) | ((size_t) bodies[p + 1] << 16) | ((size_t) bodies[p + 2] << 8) | bodies[p + 3];
        if (p + 4 + l > blen) break;
        off[nb] = p + 4; len[nb++] = l; p += 4 + l;
    }
    if (nb == 0) { fprintf(stderr, "sidecar-client: no frames in %s\n", argv[2]); return 2; }

    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0) { perror("connect"); return 1; }

    long n = total - warmup;
    struct run r;
    memset(&r, 0, sizeof r);
    r.warmup = warmup;
    r.sent = calloc((size_t) n, sizeof(uint64_t));
    r.late = calloc((size_t) n, 1);
    r.rtt = calloc((size_t) n, sizeof(double));
    r.srv = calloc((size_t) n, sizeof(double));
    if (!r.sent || !r.late || !r.rtt || !r.srv) { fprintf(stderr, "sidecar-client: out of memory\n"); return 2; }
    static unsigned char tx[1 << 16];
    uint64_t t0 = now_ns(), gap = (uint64_t) (1e9 / rate);

    for (long i = 0; i < total; i++) {
        uint64_t at = t0 + (uint64_t) i * gap;
        /* until the send time: read late answers as they come while any is outstanding, else sleep */
        while (r.pending > 0) {
            int w = wait_in(fd, at);
            if (w < 0 || (w > 0 && pump(fd, &r, 0) < 0)) return 1;
            if (w == 0) break;
        }
        struct timespec ts = { (time_t) (at / 1000000000ull), (long) (at % 1000000000ull) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        uint64_t id = (uint64_t) i + 1;
        size_t p = 4;
        tx[p++] = 0x08;
        for (uint64_t x = id; ; x >>= 7) { if (x < 128) { tx[p++] = (unsigned char) x; break; } tx[p++] = (unsigned char) ((x & 0x7f) | 0x80); }
        long b = i % nb;
        if (p + len[b] > sizeof tx) { fprintf(stderr, "sidecar-client: frame too large\n"); return 2; }
        memcpy(tx + p, bodies + off[b], len[b]);
        p += len[b];
        uint32_t L = (uint32_t) (p - 4);
        tx[0] = (unsigned char) (L >> 24); tx[1] = (unsigned char) (L >> 16); tx[2] = (unsigned char) (L >> 8); tx[3] = (unsigned char) L;

        uint64_t sent = now_ns(), deadline = sent + timeout_ns;
        if (i >= warmup) r.sent[i - warmup] = sent;
        if (send(fd, tx, p, MSG_NOSIGNAL) != (ssize_t) p) { perror("send"); return 1; }
        for (;;) {
            int w = wait_in(fd, deadline);
            if (w < 0) return 1;
            if (w > 0) {
                int got = pump(fd, &r, id);
                if (got < 0) return 1;
                if (got) break;
                continue;
            }
            if (now_ns() < deadline) continue;
            /* the module gives up here and decides by LRU; the answer, if it comes, is read as a late one */
            if (i >= warmup) { r.late[i - warmup] = 1; r.pending++; r.timeouts++; if (++r.streak == 3) r.streaks++; }
            break;
        }
    }
    /* the late answers still due: up to 1 s more (the sidecar's longest budget) */
    uint64_t stop = now_ns() + 1000000000ull;
    while (r.pending > 0) {
        int w = wait_in(fd, stop);
        if (w < 0 || (w > 0 && pump(fd, &r, 0) < 0)) return 1;
        if (w == 0) break;
    }
    long unanswered = 0;
    for (long k = 0; k < n; k++) if (r.late[k]) { r.rtt[k] = (double) (stop - r.sent[k]) / 1e3; unanswered++; }
    close(fd);
    qsort(r.rtt, (size_t) n, sizeof(double), cmp_double);
    qsort(r.srv, (size_t) r.nsrv, sizeof(double), cmp_double);
    printf("{\"requests\":%ld,\"p50us\":%.1f,\"p95us\":%.1f,\"p99us\":%.1f,\"p999us\":%.1f,\"maxus\":%.1f,"
           "\"serverP50us\":%.0f,\"serverP99us\":%.0f,\"model\":%ld,\"timeouts\":%ld,\"unanswered\":%ld,\"errors\":%ld,\"streaks\":%ld,"
           "\"byReason\":[%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld],\"modelVersion\":\"%s\"}\n",
           n, quantile(r.rtt, n, 0.5), quantile(r.rtt, n, 0.95), quantile(r.rtt, n, 0.99), quantile(r.rtt, n, 0.999), r.rtt[n - 1],
           quantile(r.srv, r.nsrv, 0.5), quantile(r.srv, r.nsrv, 0.99), r.model, r.timeouts, unanswered, r.errors, r.streaks,
           r.by_reason[0], r.by_reason[1], r.by_reason[2], r.by_reason[3], r.by_reason[4], r.by_reason[5], r.by_reason[6], r.by_reason[7],
           r.version);
    return 0;
}
