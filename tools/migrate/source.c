/* SPDX-License-Identifier: MIT */
/*
 * The source side: pre-copy, stop-and-copy, verification, attempts.
 *
 *   bulk pass   every page (round 0), while the guest runs
 *   rounds      harvest (IOMMU bitmap, clearing, | CPU log), send the dirty
 *               pages; stop when what is left fits --max-downtime at the
 *               bandwidth measured so far, or after --max-rounds
 *   stop        pause the writers (no DMA in flight), final harvest, send
 *               the rest and the device state; the destination's RECEIVED
 *               is the switch-over (downtime ends)
 *   verify      the destination returns a hash per page; the source, still
 *               paused, compares with its own and sends the verdict and
 *               ends its stream; only then does the destination accept, and
 *               only on its ACCEPTED is the migration verified
 *
 * A failed attempt resumes the guest and, with --attempts, starts over
 * with a new bulk pass to a new destination.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "migrate.h"
#include "xxh64.h"

extern char **environ;

#define BATCH_PAGES 64 /* pages per PAGES frame: 256 KiB */
#define GUEST_PAUSE_AFTER_FAILURE_NS 200000000ull /* show the guest still runs */
#define DEVICE_STATE_MAGIC 0x53444449u       /* "IDDS" */
#define MIG_LISTED_BAD_PAGES 16 /* in the error message; the report has more */

struct source {
	const struct mig_options *o;
	struct mig_result *r;
	struct mig_guest g;
	struct mig_workload *w;
	uint64_t *dirty;
	unsigned char *frame; /* the frame being sent */
	unsigned char *rx;    /* the frame being received */
	struct mig_conn conn;
	bool conn_open, paused;
	pid_t child;
	unsigned int attempt;
	bool inject; /* this attempt injects o->inject */
	unsigned int round;
	uint64_t send_ns, send_pages; /* this attempt, for the page rate */
	uint64_t page_frames;
	uint64_t dirty_pages_found, precopy_ns;
	uint64_t last_progress_ns;
	char err[320];
};

uint64_t mig_estimate_ns(uint64_t pages, double page_rate)
{
	if (!pages)
		return 0;
	if (!(page_rate > 0))
		return UINT64_MAX;
	double ns = (double)pages / page_rate * 1e9;

	return ns >= 1.8e19 ? UINT64_MAX : (uint64_t)ns;
}

bool mig_fits_downtime(uint64_t pages, double page_rate, uint64_t max_downtime_ns)
{
	return mig_estimate_ns(pages, page_rate) <= max_downtime_ns;
}

static int fail(struct source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct source *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int conn_fail(struct source *s)
{
	return fail(s, "%s", s->conn.error);
}

/* ---- connecting ---------------------------------------------------------------------- */

/* The embedded destination: this executable's `receive` on a socket that is
 * already listening on loopback, so no port can be lost in between. */
static int spawn_destination(struct source *s, int *port_out)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	char fdarg[16], timeout[16];
	int lfd, ret;

	lfd = socket(AF_INET, SOCK_STREAM, 0); /* inherited by the child */
	if (lfd < 0)
		return fail(s, "socket: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen)) {
		fail(s, "cannot listen on loopback: %s", strerror(errno));
		close(lfd);
		return -1;
	}
	snprintf(fdarg, sizeof(fdarg), "%d", lfd);
	snprintf(timeout, sizeof(timeout), "%u", s->o->timeout_s);
	char *const argv[] = { (char *)"iodirty",  (char *)"receive", (char *)"--listen-fd",
			       fdarg,		   (char *)"--timeout", timeout,
			       NULL };
	ret = posix_spawn(&s->child, "/proc/self/exe", NULL, NULL, argv, environ);
	close(lfd);
	if (ret) {
		s->child = 0;
		return fail(s, "cannot start the embedded destination: %s", strerror(ret));
	}
	*port_out = ntohs(addr.sin_port);
	return 0;
}

static int connect_to(struct source *s, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *p;
	int fd = -1, ret, saved = 0;

	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret)
		return fail(s, "cannot resolve %s: %s", host, gai_strerror(ret));
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (!connect(fd, p->ai_addr, p->ai_addrlen))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return fail(s, "cannot connect to %s:%s: %s", host, port, strerror(saved));
	return fd;
}

/* "HOST:PORT", "[V6]:PORT" */
static int connect_remote(struct source *s, const char *to)
{
	char host[256];
	const char *colon = strrchr(to, ':');
	size_t n;

	if (!colon || colon == to || !colon[1])
		return fail(s, "--to needs HOST:PORT, not '%s'", to);
	n = (size_t)(colon - to);
	if (to[0] == '[' && n >= 2 && to[n - 1] == ']')
		to++, n -= 2;
	if (n >= sizeof(host))
		return fail(s, "--to: host name too long");
	memcpy(host, to, n);
	host[n] = 0;
	return connect_to(s, host, colon + 1);
}

static int open_link(struct source *s)
{
	const struct mig_options *o = s->o;
	int fd;

	if (o->to) {
		fd = connect_remote(s, o->to);
	} else {
		char port[8];
		int p = 0;

		if (spawn_destination(s, &p))
			return -1;
		snprintf(port, sizeof(port), "%d", p);
		fd = connect_to(s, "127.0.0.1", port);
	}
	if (fd < 0)
		return -1;
	if (mig_conn_init(&s->conn, fd, "destination", o->max_bandwidth, o->compress,
			  o->timeout_s * 1000)) {
		mig_conn_close(&s->conn);
		return fail(s, "out of memory for the connection");
	}
	s->conn_open = true;
	if (s->inject && o->inject == MIG_INJECT_FLIP)
		s->conn.flip_frame = (int64_t)o->inject_at;
	if (s->inject && o->inject == MIG_INJECT_RANDOM) {
		mig_chaos_init(&s->r->chaos, o->inject_at);
		s->conn.chaos = &s->r->chaos;
	}
	return 0;
}

/* Reaps the embedded destination; describes how it ended if it failed. */
static void reap_destination(struct source *s, bool kill_it, char *why, size_t len)
{
	int status;

	if (why)
		why[0] = 0;
	if (!s->child)
		return;
	if (kill_it)
		kill(s->child, SIGKILL);
	while (waitpid(s->child, &status, 0) < 0 && errno == EINTR)
		;
	if (why && WIFSIGNALED(status))
		snprintf(why, len, "the destination process was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (why && WIFEXITED(status) && WEXITSTATUS(status))
		snprintf(why, len, "the destination exited with status %d", WEXITSTATUS(status));
	s->child = 0;
}

/* ---- sending pages ------------------------------------------------------------------- */

static void show_progress(struct source *s, uint64_t sent_in_round, uint64_t to_send)
{
	uint64_t now = mig_now_ns();
	double rate = s->precopy_ns ? (double)s->dirty_pages_found * MIG_PAGE * 1e9 /
					      (double)s->precopy_ns
				    : 0;
	double est_ms = (double)mig_estimate_ns(to_send - sent_in_round,
					       s->send_ns ? (double)s->send_pages * 1e9 /
								    (double)s->send_ns
							  : 0) /
			1e6;

	if (!s->o->progress || now - s->last_progress_ns < 100000000ull)
		return;
	s->last_progress_ns = now;
	mig_progress(s->o,
		     "attempt %u, round %u: %llu/%llu pages, %.1f MiB on the wire, dirty rate "
		     "%.0f MiB/s, left %s%.0f ms",
		     s->attempt + 1, s->round, (unsigned long long)sent_in_round,
		     (unsigned long long)to_send, (double)s->conn.bytes_wire / (1 << 20),
		     rate / (1 << 20), est_ms > 1e9 ? ">" : "", est_ms > 1e9 ? 1e9 : est_ms);
}

/* The mid-round faults, when their round is half sent. */
static void maybe_inject(struct source *s, uint64_t sent, uint64_t to_send)
{
	const struct mig_options *o = s->o;

	if (!s->inject || s->r->inject_fired || s->round != o->inject_at || sent < to_send / 2)
		return;
	if (o->inject == MIG_INJECT_DROP) {
		shutdown(s->conn.fd, SHUT_RDWR);
		s->r->inject_fired = true;
	} else if (o->inject == MIG_INJECT_KILL_DEST && s->child) {
		kill(s->child, SIGKILL);
		s->r->inject_fired = true;
	}
}

/* One PAGES frame: u32 count, u32 0, u64 index[count], the pages.  The
 * pages were gathered after a full index array; a short batch closes up. */
static int send_batch(struct source *s, uint32_t count)
{
	uint32_t len = 8 + count * (8 + MIG_PAGE);

	memcpy(s->frame, &count, 4);
	memset(s->frame + 4, 0, 4);
	if (count < BATCH_PAGES)
		memmove(s->frame + 8 + 8 * count, s->frame + 8 + 8 * BATCH_PAGES,
			(size_t)count * MIG_PAGE);
	/* a destination that failed says why before the link breaks */
	if (mig_peer_failed(&s->conn, s->rx))
		return conn_fail(s);
	if (mig_send(&s->conn, MIG_FRAME_PAGES, s->round, s->frame, len))
		return conn_fail(s);
	s->page_frames++;
	return 0;
}

/* Sends the pages set in s->dirty (clearing them) in PAGES frames. */
static int send_dirty(struct source *s, struct mig_round *rd)
{
	struct mig_guest *g = &s->g;
	uint64_t to_send = mig_bits_count(s->dirty, g->nwords), sent = 0;
	uint64_t wire0 = s->conn.bytes_wire, t0 = mig_now_ns();
	uint32_t count = 0;
	uint64_t *index = (uint64_t *)(s->frame + 8);
	unsigned char *data = s->frame + 8 + 8 * BATCH_PAGES;

	for (uint64_t w = 0; w < g->nwords; w++) {
		while (s->dirty[w]) {
			uint64_t page = w * 64 + (uint64_t)__builtin_ctzll(s->dirty[w]);

			s->dirty[w] &= s->dirty[w] - 1;
			maybe_inject(s, sent, to_send);
			index[count] = page;
			memcpy(data + (size_t)count * MIG_PAGE, g->ram + page * MIG_PAGE, MIG_PAGE);
			count++;
			sent++;
			if (count < BATCH_PAGES && sent < to_send)
				continue;
			if (send_batch(s, count))
				return -1;
			count = 0;
			show_progress(s, sent, to_send);
		}
	}
	rd->pages_sent = sent;
	rd->bytes_wire = s->conn.bytes_wire - wire0;
	s->send_ns += mig_now_ns() - t0;
	s->send_pages += sent;
	return 0;
}

static struct mig_round *new_round(struct source *s)
{
	struct mig_result *r = s->r;

	if (r->nrounds == r->rounds_cap) {
		unsigned int cap = r->rounds_cap ? 2 * r->rounds_cap : 16;
		struct mig_round *n = realloc(r->rounds, cap * sizeof(*n));

		if (!n)
			return NULL;
		r->rounds = n;
		r->rounds_cap = cap;
	}
	memset(&r->rounds[r->nrounds], 0, sizeof(r->rounds[0]));
	return &r->rounds[r->nrounds++];
}

static int harvest(struct source *s)
{
	struct mig_guest *g = &s->g;

	if (!g->cfg.tracking) {
		/* VFIO type1 without IOMMU dirty tracking: everything mapped is dirty */
		memset(s->dirty, 0xff, g->nwords * sizeof(uint64_t));
		if (g->npages % 64)
			s->dirty[g->nwords - 1] = (1ull << (g->npages % 64)) - 1;
		return 0;
	}
	if (mig_guest_harvest(g, s->dirty, !(s->inject && s->o->inject == MIG_INJECT_NO_CPU_LOG),
			      s->err, sizeof(s->err)))
		return -1;
	return 0;
}

static int check_guest(struct source *s)
{
	char why[200];

	if (mig_workload_failed(s->w, why, sizeof(why)))
		return fail(s, "the guest failed: %s", why);
	return 0;
}

/* Pre-copy: the bulk pass, then rounds until converged or --max-rounds. */
static int precopy(struct source *s)
{
	const struct mig_options *o = s->o;
	struct mig_guest *g = &s->g;

	memset(s->dirty, 0xff, g->nwords * sizeof(uint64_t));
	if (g->npages % 64)
		s->dirty[g->nwords - 1] = (1ull << (g->npages % 64)) - 1;
	for (s->round = 0;; s->round++) {
		struct mig_round *rd = new_round(s);
		uint64_t t0 = mig_now_ns();
		double page_rate;

		if (!rd)
			return fail(s, "out of memory");
		if (send_dirty(s, rd) || check_guest(s) || harvest(s))
			return -1;
		rd->pages_dirty = mig_bits_count(s->dirty, g->nwords);
		rd->ns = mig_now_ns() - t0;
		s->dirty_pages_found += rd->pages_dirty;
		s->precopy_ns += rd->ns;
		page_rate = s->send_ns ? (double)s->send_pages * 1e9 / (double)s->send_ns : 0;
		if (mig_fits_downtime(rd->pages_dirty, page_rate, o->max_downtime_ns)) {
			s->r->converged = true;
			return 0;
		}
		if (s->round + 1 >= o->max_rounds)
			return 0;
	}
}

/* ---- stop-and-copy and verification ----------------------------------------------------- */

/* The devices' state as a VMM would save it: small and checksummed twice
 * (its frame, and its hash returned by the destination). */
static uint32_t device_state(struct source *s, unsigned char *buf)
{
	struct mig_guest *g = &s->g;
	uint32_t n = 0, v;
	uint64_t writes = mig_workload_writes(s->w);

#define PUT(x) (memcpy(buf + n, &(x), sizeof(x)), n += (uint32_t)sizeof(x))
	v = DEVICE_STATE_MAGIC;
	PUT(v);
	PUT(g->cfg.format);
	PUT(g->cfg.iopte);
	PUT(g->cfg.ndevices);
	PUT(g->cfg.mem_size);
	PUT(writes);
	for (unsigned int i = 0; i < g->cfg.ndevices; i++)
		PUT(g->stdev_id[i]);
#undef PUT
	return n;
}

static int expect(struct source *s, struct mig_frame *f, uint8_t type, const char *what)
{
	if (mig_recv(&s->conn, f, s->rx))
		return fail(s, "while waiting for %s: %s", what, s->conn.error);
	if (f->type != type)
		return fail(s, "the destination sent frame type %u instead of %s", f->type, what);
	return 0;
}

static void add_bad_page(struct mig_result *r, uint64_t page)
{
	if (r->nbad_pages < MIG_MAX_BAD_PAGES)
		r->bad_pages[r->nbad_pages] = page;
	r->nbad_pages++;
}

/* The destination's hashes against ours, chunk by chunk as they arrive. */
static int compare_hashes(struct source *s)
{
	struct mig_guest *g = &s->g;
	uint64_t next = 0;

	while (next < g->npages) {
		struct mig_frame f;
		uint64_t n;

		if (expect(s, &f, MIG_FRAME_HASHES, "page hashes"))
			return -1;
		n = f.len / 8;
		if (f.arg != next || f.len % 8 || !n || n > g->npages - next)
			return fail(s, "the destination sent hashes for pages %llu+%llu, expected "
				       "page %llu", (unsigned long long)f.arg,
				    (unsigned long long)n, (unsigned long long)next);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t theirs;

			memcpy(&theirs, s->rx + 8 * i, 8);
			if (mig_xxh64(g->ram + (next + i) * MIG_PAGE, MIG_PAGE, 0) != theirs)
				add_bad_page(s->r, next + i);
		}
		next += n;
	}
	return 0;
}

static int stop_and_copy(struct source *s)
{
	struct mig_result *r = s->r;
	struct mig_round *rd;
	struct mig_frame f;
	unsigned char blob[256];
	uint32_t blob_len;
	uint64_t t_stop, t_verify;
	size_t n;

	t_stop = mig_now_ns();
	mig_workload_pause(s->w); /* stop DMA and drain */
	s->paused = true;
	s->round++;
	rd = new_round(s);
	if (!rd)
		return fail(s, "out of memory");
	rd->final = true;
	if (check_guest(s) || harvest(s) || send_dirty(s, rd))
		return -1;
	rd->ns = mig_now_ns() - t_stop;
	blob_len = device_state(s, blob);
	if (mig_send(&s->conn, MIG_FRAME_DEVICE_STATE, 0, blob, blob_len) ||
	    mig_send(&s->conn, MIG_FRAME_DONE, s->page_frames, NULL, 0))
		return conn_fail(s);
	if (expect(s, &f, MIG_FRAME_RECEIVED, "the switch-over"))
		return -1;
	r->downtime_ns = mig_now_ns() - t_stop;
	if (f.arg != mig_xxh64(blob, blob_len, 0))
		return fail(s, "the destination's device state differs from the source's");

	t_verify = mig_now_ns();
	r->nbad_pages = 0;
	if (compare_hashes(s))
		return -1;
	r->verify_ns = mig_now_ns() - t_verify;
	if (mig_send(&s->conn, MIG_FRAME_VERDICT, r->nbad_pages, NULL, 0))
		return conn_fail(s);
	/* verified only once the destination has accepted: a lost verdict must
	 * not leave this side believing in a copy that was discarded */
	if (!r->nbad_pages) {
		if (mig_send_end(&s->conn))
			return conn_fail(s);
		return expect(s, &f, MIG_FRAME_ACCEPTED, "the destination's acceptance");
	}
	fail(s, "verification failed: %llu page%s differ%s at the destination:",
	     (unsigned long long)r->nbad_pages, r->nbad_pages == 1 ? "" : "s",
	     r->nbad_pages == 1 ? "s" : "");
	for (uint64_t i = 0; i < r->nbad_pages && i < MIG_LISTED_BAD_PAGES; i++) {
		n = strlen(s->err);
		snprintf(s->err + n, sizeof(s->err) - n, " %llu",
			 (unsigned long long)r->bad_pages[i]);
	}
	n = strlen(s->err);
	if (r->nbad_pages > MIG_LISTED_BAD_PAGES)
		snprintf(s->err + n, sizeof(s->err) - n, " ...");
	return -1;
}

/* ---- attempts ------------------------------------------------------------------------- */

static void close_link(struct source *s, bool failed)
{
	char why[160];

	if (s->conn_open) {
		if (failed)
			mig_send_error(&s->conn, s->err);
		s->r->bytes_wire = s->conn.bytes_wire;
		s->r->bytes_raw = s->conn.bytes_raw;
		s->r->frames = s->conn.frames;
		mig_conn_close(&s->conn);
		s->conn_open = false;
	}
	/* a failed destination never accepts; give it a moment to say so */
	reap_destination(s, false, why, sizeof(why));
	if (failed && why[0]) {
		size_t n = strlen(s->err);

		snprintf(s->err + n, sizeof(s->err) - n, "; %s", why);
	} else if (!failed && why[0]) {
		fail(s, "%s after verifying", why);
	}
}

static int run_attempt(struct source *s)
{
	struct mig_result *r = s->r;
	struct mig_hello hello = { .version = MIG_PROTOCOL_VERSION, .page_size = MIG_PAGE,
				   .mem_size = s->g.cfg.mem_size };
	uint64_t t0 = mig_now_ns();
	int ret;

	r->nrounds = 0;
	r->converged = r->verified = false;
	r->nbad_pages = r->downtime_ns = r->verify_ns = 0;
	s->send_ns = s->send_pages = s->dirty_pages_found = s->precopy_ns = 0;
	s->page_frames = 0;
	ret = open_link(s);
	if (!ret && mig_send(&s->conn, MIG_FRAME_HELLO, 0, &hello, sizeof(hello)))
		ret = conn_fail(s);
	if (!ret)
		ret = mig_guest_reset_tracking(&s->g, s->err, sizeof(s->err));
	if (!ret)
		ret = precopy(s);
	if (!ret)
		ret = stop_and_copy(s);
	mig_progress_done(s->o);
	r->pages_dirtied_distinct = mig_bits_count((uint64_t *)s->g.written, s->g.nwords);
	close_link(s, ret != 0);
	if (!ret && s->err[0] && !r->nbad_pages)
		ret = -1; /* the destination failed after verifying */
	r->pages_sent = 0;
	for (unsigned int i = 0; i < r->nrounds; i++)
		r->pages_sent += r->rounds[i].pages_sent;
	r->total_ns = mig_now_ns() - t0;
	r->page_rate = s->send_ns ? (double)s->send_pages * 1e9 / (double)s->send_ns : 0;
	r->dirty_rate = s->precopy_ns ? (double)s->dirty_pages_found * MIG_PAGE * 1e9 /
						(double)s->precopy_ns
				      : 0;
	r->verified = !ret;
	if (s->inject && s->o->inject == MIG_INJECT_RANDOM)
		r->inject_fired = r->chaos.fault != MIG_FAULT_NONE;
	return ret;
}

/* "drop@2: the connection cut halfway through round 2" */
static const char *inject_name(const struct mig_options *o, const struct mig_result *r)
{
	static _Thread_local char buf[160];
	char fault[96];

	switch (o->inject) {
	case MIG_INJECT_DROP:
		snprintf(buf, sizeof(buf), "drop@%llu: the source cut the connection halfway "
					   "through round %llu",
			 (unsigned long long)o->inject_at, (unsigned long long)o->inject_at);
		break;
	case MIG_INJECT_FLIP:
		snprintf(buf, sizeof(buf), "flip@%llu: one byte of frame %llu changed on the wire",
			 (unsigned long long)o->inject_at, (unsigned long long)o->inject_at);
		break;
	case MIG_INJECT_KILL_DEST:
		snprintf(buf, sizeof(buf), "kill-dest@%llu: the destination was killed in round %llu",
			 (unsigned long long)o->inject_at, (unsigned long long)o->inject_at);
		break;
	case MIG_INJECT_RANDOM:
		mig_chaos_describe(&r->chaos, fault, sizeof(fault));
		snprintf(buf, sizeof(buf), "random@%llu: %s", (unsigned long long)o->inject_at,
			 fault);
		break;
	case MIG_INJECT_NO_CPU_LOG:
		snprintf(buf, sizeof(buf), "no-cpu-log: the CPU dirty log was never merged");
		break;
	case MIG_INJECT_NONE:
		buf[0] = 0;
		break;
	}
	return buf;
}

int mig_migrate(const struct mig_options *o, struct mig_result *r)
{
	struct source s = { .o = o, .r = r };
	int status = 1;

	memset(r, 0, sizeof(*r));
	r->pages_total = o->guest.mem_size / MIG_PAGE;
	if (mig_guest_create(&s.g, &o->guest, s.err, sizeof(s.err))) {
		snprintf(r->attempt[0].error, sizeof(r->attempt[0].error), "%s", s.err);
		r->nattempts = 1;
		mig_guest_destroy(&s.g);
		return 1;
	}
	snprintf(r->note, sizeof(r->note), "%s", s.g.note);
	s.dirty = calloc(s.g.nwords, sizeof(uint64_t));
	s.frame = malloc(MIG_FRAME_MAX);
	s.rx = malloc(MIG_FRAME_MAX);
	if (!s.dirty || !s.frame || !s.rx) {
		snprintf(r->attempt[0].error, sizeof(r->attempt[0].error), "out of memory");
		r->nattempts = 1;
		goto out;
	}
	if (mig_workload_start(&s.w, &s.g, &o->workload, s.err, sizeof(s.err))) {
		snprintf(r->attempt[0].error, sizeof(r->attempt[0].error), "%s", s.err);
		r->nattempts = 1;
		goto out;
	}
	for (s.attempt = 0; s.attempt < o->attempts; s.attempt++) {
		struct mig_attempt *a = &r->attempt[s.attempt];

		r->nattempts = s.attempt + 1;
		s.inject = s.attempt == 0 && o->inject != MIG_INJECT_NONE;
		s.err[0] = 0;
		if (!run_attempt(&s)) {
			a->ok = true;
			a->ns = r->total_ns;
			status = 0;
			break;
		}
		a->ns = r->total_ns;
		if (s.inject && (r->inject_fired || o->inject == MIG_INJECT_FLIP ||
				 o->inject == MIG_INJECT_NO_CPU_LOG))
			snprintf(a->error, sizeof(a->error), "(injected %s) %s", inject_name(o, r),
				 s.err);
		else
			snprintf(a->error, sizeof(a->error), "%s", s.err);
		/* the source guest keeps running: resume it and show that it does */
		if (s.paused) {
			mig_workload_resume(s.w);
			s.paused = false;
		}
		uint64_t before = mig_workload_writes(s.w);

		mig_sleep_ns(GUEST_PAUSE_AFTER_FAILURE_NS);
		a->guest_writes_after = mig_workload_writes(s.w) - before;
		if (check_guest(&s)) {
			snprintf(a->error + strlen(a->error), sizeof(a->error) - strlen(a->error),
				 "; %s", s.err);
			break;
		}
		if (!o->json)
			fprintf(stderr,
				"iodirty migrate: attempt %u failed: %s\n"
				"iodirty migrate: the source guest keeps running (%llu writes in "
				"the last %llu ms)%s\n",
				s.attempt + 1, a->error, (unsigned long long)a->guest_writes_after,
				GUEST_PAUSE_AFTER_FAILURE_NS / 1000000,
				s.attempt + 1 < o->attempts ? "; retrying" : "");
	}
out:
	mig_workload_stop(s.w);
	free(s.dirty);
	free(s.frame);
	free(s.rx);
	mig_guest_destroy(&s.g);
	return status;
}

void mig_result_free(struct mig_result *r)
{
	free(r->rounds);
	r->rounds = NULL;
}
