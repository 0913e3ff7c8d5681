/*
 * The framed-socket client of `coldrl bench sidecar` (the default; `--client node` uses sidecar/client.ts).
 * It asks the way nginx/ngx_http_coldrl_module.c does: one request at a time on one connection, a blocking
 * send, then ppoll() with a microsecond timeout until the answer with its request id is read. Requests are
 * paced by absolute clock_nanosleep at RATE per second; a request whose send time has passed goes out at
 * once (no coordinated omission: its round trip counts from its send).
 *
 *   sidecar-client SOCKET BODIES TOTAL RATE WARMUP TIMEOUT_US
 *
 * BODIES: DecideRequest frames (4-byte big-endian length + body, without request_id), cycled; the client
 * puts request_id = i + 1 in front of each body. TIMEOUT_US: how long to wait for one answer before giving
 * up on it (the module's coldrl_timeout; counted as a timeout, its late answer is skipped).
 * Prints one JSON object: round-trip quantiles (microseconds, requests after WARMUP), answers by source and
 * reason, server_us quantiles, timeouts, the version of the model that answered last (hex, from the sidecar).
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
    double *rtt = malloc(sizeof(double) * (size_t) n), *srv = malloc(sizeof(double) * (size_t) n);
    long by_reason[8] = {0}, model = 0, timeouts = 0, errors = 0;
    char version[64] = "";
    static unsigned char tx[1 << 16], rx[1 << 16];
    size_t rxl = 0;
    uint64_t t0 = now_ns(), gap = (uint64_t) (1e9 / rate);

    for (long i = 0; i < total; i++) {
        uint64_t at = t0 + (uint64_t) i * gap;
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
        if (send(fd, tx, p, MSG_NOSIGNAL) != (ssize_t) p) { perror("send"); return 1; }
        int got = 0;
        while (!got) {
            /* every whole frame in the buffer: ours ends the wait, older (late) ones are skipped */
            while (rxl >= 4) {
                size_t l = ((size_t) rx[0] << 24) | ((size_t) rx[1] << 16) | ((size_t) rx[2] << 8) | rx[3];
                if (l > sizeof rx - 4) { fprintf(stderr, "sidecar-client: bad frame length %zu\n", l); return 1; }
                if (rxl < 4 + l) break;
                struct answer a;
                int bad = parse(rx + 4, l, &a);
                memmove(rx, rx + 4 + l, rxl - 4 - l);
                rxl -= 4 + l;
                if (bad || a.id != id) continue;
                got = 1;
                if (i >= warmup) {
                    long k = i - warmup;
                    rtt[k] = (double) (now_ns() - sent) / 1e3;
                    srv[k] = a.server_us;
                    if (a.error) errors++;
                    else if (a.source == 1) { model++; memcpy(version, a.version, sizeof version); }
                    else by_reason[a.reason & 7]++;
                }
                break;
            }
            if (got) break;
            uint64_t now = now_ns();
            if (now >= deadline) {
                if (i >= warmup) { rtt[i - warmup] = (double) timeout_ns / 1e3; srv[i - warmup] = 0; timeouts++; }
                break;
            }
            struct pollfd pfd = { fd, POLLIN, 0 };
            struct timespec wait = { (time_t) ((deadline - now) / 1000000000ull), (long) ((deadline - now) % 1000000000ull) };
            int rc = ppoll(&pfd, 1, &wait, NULL);
            if (rc < 0 && errno != EINTR) { perror("ppoll"); return 1; }
            if (rc <= 0) continue;
            ssize_t r = recv(fd, rx + rxl, sizeof rx - rxl, MSG_DONTWAIT);
            if (r == 0) { fprintf(stderr, "sidecar-client: the sidecar closed the connection\n"); return 1; }
            if (r > 0) rxl += (size_t) r;
        }
    }
    close(fd);
    qsort(rtt, (size_t) n, sizeof(double), cmp_double);
    qsort(srv, (size_t) n, sizeof(double), cmp_double);
    printf("{\"requests\":%ld,\"p50us\":%.1f,\"p95us\":%.1f,\"p99us\":%.1f,\"p999us\":%.1f,\"maxus\":%.1f,"
           "\"serverP50us\":%.0f,\"serverP99us\":%.0f,\"model\":%ld,\"timeouts\":%ld,\"errors\":%ld,"
           "\"byReason\":[%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld],\"modelVersion\":\"%s\"}\n",
           n, quantile(rtt, n, 0.5), quantile(rtt, n, 0.95), quantile(rtt, n, 0.99), quantile(rtt, n, 0.999), rtt[n - 1],
           quantile(srv, n, 0.5), quantile(srv, n, 0.99), model, timeouts, errors,
           by_reason[0], by_reason[1], by_reason[2], by_reason[3], by_reason[4], by_reason[5], by_reason[6], by_reason[7],
           version);
    return 0;
}
