/*
 * bench/pacer_ref.c: the reference pacer bench/compare.sh holds our sender
 * against. Written for this project.
 *
 * Sends FPS frames a second of BPS/8/FPS bytes each to 127.0.0.1:PORT for
 * SECS seconds, in DGRAM-byte UDP datagrams (the last of a frame shorter).
 * Frame i is due at t0 + i/FPS on CLOCK_MONOTONIC; the thread sleeps in a
 * blocking read() of a timerfd armed with TFD_TIMER_ABSTIME for exactly
 * that instant (the kernel's timer slack does not apply to timerfd), then
 * hands the whole frame to the kernel as one burst: sendmsg with UDP GSO
 * (UDP_SEGMENT), at most 46 datagrams (under 65,000 bytes) per call, the
 * first call of a frame at most FIRST (default 46): the same split
 * mediastream's sender uses when FIRST is its FIRST_RUN_SEGMENTS (8).
 * Without GSO (an old kernel) it falls back to sendmmsg of the same runs.
 * Nothing is done between the wake-up and the first sendmsg: each frame's
 * payload is ready before the wait.
 *
 *   pacer_ref PORT FPS BPS DGRAM SECS [FIRST]
 *
 * Prints one line: frames sent, datagrams sent, send path, and p50/p99/max
 * of the wake-up lateness (CLOCK_MONOTONIC read just after the read(), less
 * the due time) over the frames after the first second.
 * Build: gcc -O2 -Wall -o pacer_ref pacer_ref.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define MAX_RUN_BYTES 65000
#define MAX_RUN_SEGS 64

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int use_gso = 1;

/* Sends len bytes (datagrams of seg bytes, the last may be shorter). */
static int send_run(int fd, const struct sockaddr_in *to, const char *data, size_t len, size_t seg)
{
    if (use_gso && len > seg) {
        struct iovec iov = { (void *)data, len };
        union {
            char buf[CMSG_SPACE(sizeof(uint16_t))];
            struct cmsghdr align;
        } ctl;
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        memset(&ctl, 0, sizeof ctl);
        msg.msg_name = (void *)to;
        msg.msg_namelen = sizeof *to;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t s = (uint16_t)seg;
        memcpy(CMSG_DATA(c), &s, sizeof s);
        if (sendmsg(fd, &msg, 0) >= 0)
            return 0;
        if (errno != EIO && errno != EINVAL && errno != ENOPROTOOPT && errno != EOPNOTSUPP)
            return -1;
        use_gso = 0;
    }
    struct mmsghdr m[MAX_RUN_SEGS];
    struct iovec v[MAX_RUN_SEGS];
    size_t n = 0;
    for (size_t off = 0; off < len && n < MAX_RUN_SEGS; off += seg, n++) {
        v[n].iov_base = (void *)(data + off);
        v[n].iov_len = len - off < seg ? len - off : seg;
        memset(&m[n], 0, sizeof m[n]);
        m[n].msg_hdr.msg_name = (void *)to;
        m[n].msg_hdr.msg_namelen = sizeof *to;
        m[n].msg_hdr.msg_iov = &v[n];
        m[n].msg_hdr.msg_iovlen = 1;
    }
    size_t done = 0;
    for (int tries = 0; done < n && tries < 1000; tries++) {
        int r = sendmmsg(fd, m + done, (unsigned)(n - done), 0);
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (r > 0)
            done += (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s PORT FPS BPS DGRAM SECS [FIRST]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    double fps = atof(argv[2]), bps = atof(argv[3]), secs = atof(argv[5]);
    size_t dgram = (size_t)atol(argv[4]);
    if (port <= 0 || port > 65535 || fps <= 0 || fps > 100000 || bps <= 0 || dgram < 16 ||
        dgram > 9000 || secs <= 0 || secs > 3600) {
        fprintf(stderr, "pacer_ref: bad arguments\n");
        return 2;
    }
    size_t frame = (size_t)(bps / 8.0 / fps);
    if (frame < dgram)
        frame = dgram;
    long frames = (long)(secs * fps);
    size_t per_run = MAX_RUN_BYTES / dgram;
    if (per_run > MAX_RUN_SEGS)
        per_run = MAX_RUN_SEGS;
    if (per_run < 1)
        per_run = 1;
    size_t first = argc == 7 ? (size_t)atol(argv[6]) : per_run;
    if (first < 1 || first > per_run)
        first = per_run;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    char *data = calloc(1, frame);
    if (!data)
        return 1;
    for (size_t i = 0; i < frame; i++)
        data[i] = (char)(i * 7);

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (tfd < 0) {
        perror("timerfd_create");
        return 1;
    }
    int64_t t0 = now_ns() + 20000000LL; /* 20 ms from now */
    int64_t worst = 0;
    int64_t *lates = calloc((size_t)frames + 1, sizeof *lates);
    long nlate = 0;
    if (!lates)
        return 1;
    long datagrams = 0;
    for (long i = 0; i < frames; i++) {
        int64_t due = t0 + (int64_t)((double)i * 1e9 / fps);
        /* the frame's sequence number in each datagram's first bytes, before the wait */
        for (size_t off = 0; off < frame; off += dgram)
            memcpy(data + off, &i, sizeof i);
        struct itimerspec its;
        memset(&its, 0, sizeof its);
        its.it_value.tv_sec = due / 1000000000LL;
        its.it_value.tv_nsec = due % 1000000000LL;
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
            perror("timerfd_settime");
            return 1;
        }
        uint64_t exp;
        if (due > now_ns()) {
            while (read(tfd, &exp, sizeof exp) < 0 && errno == EINTR)
                ;
        }
        int64_t late = now_ns() - due;
        if (i >= (long)fps) {
            if (late > worst)
                worst = late;
            lates[nlate++] = late;
        }
        for (size_t off = 0, run = first; off < frame; off += run * dgram, run = per_run) {
            size_t len = frame - off < run * dgram ? frame - off : run * dgram;
            if (send_run(fd, &to, data + off, len, dgram) < 0 && errno != ECONNREFUSED) {
                perror("send");
                return 1;
            }
        }
        datagrams += (long)((frame + dgram - 1) / dgram);
    }
    qsort(lates, (size_t)nlate, sizeof *lates, cmp_i64);
    printf("pacer_ref frames=%ld datagrams=%ld path=%s wake_late_us p50=%.1f p99=%.1f max=%.1f\n", frames,
           datagrams, use_gso ? "gso" : "sendmmsg", nlate ? lates[nlate / 2] / 1e3 : 0.0,
           nlate ? lates[(nlate * 99 + 99) / 100 - 1] / 1e3 : 0.0, worst / 1e3);
    return 0;
}
