/* SPDX-License-Identifier: MIT */
/*
 * The migration stream: frames over one TCP connection.
 *
 * A frame is a 40-byte little-endian header and a payload:
 *
 *    0 u32 magic "IDMF"     4 u8 type     5 u8 flags (bit 0: zstd)  6 u16 0
 *    8 u32 seq (frames count from 0 in each direction)
 *   12 u32 wire length (payload bytes that follow)
 *   16 u32 raw length (payload bytes after decompression)   20 u32 0
 *   24 u64 arg (per type)
 *   32 u64 checksum: XXH64(wire payload, seed = XXH64(header bytes 0..31))
 *
 * so a flipped bit anywhere in a frame, a lost or repeated frame (seq) and a
 * truncated stream are all detected.  The source ends its stream with a
 * half-close after VERDICT, and the destination accepts only on that clean
 * end, answering ACCEPTED: a fault in the last frame, or bytes after it,
 * cannot go unseen on either side.  Payloads are at most MIG_FRAME_MAX
 * bytes raw, and each side holds one frame at a time: TCP's window is the
 * only queue, so neither side buffers without bound.
 */
#ifndef IODIRTY_MIGRATE_FRAME_H
#define IODIRTY_MIGRATE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

#define MIG_FRAME_MAGIC 0x464d4449u /* "IDMF" */
#define MIG_FRAME_HEADER 40u
#define MIG_FRAME_MAX (1u << 20)
#define MIG_FRAME_ZSTD 1u

enum mig_frame_type {
	MIG_FRAME_HELLO = 1,     /* src -> dst: struct mig_hello */
	MIG_FRAME_PAGES,         /* src -> dst: arg round; u32 count, u32 0, u64 index[count], pages */
	MIG_FRAME_DEVICE_STATE,  /* src -> dst: the devices' state blob */
	MIG_FRAME_DONE,          /* src -> dst: all state sent; arg = PAGES frames sent */
	MIG_FRAME_RECEIVED,      /* dst -> src: state complete; arg = XXH64 of the blob */
	MIG_FRAME_HASHES,        /* dst -> src: arg first page; u64 XXH64 per page */
	MIG_FRAME_VERDICT,       /* src -> dst: arg = pages that differ (0: accept) */
	MIG_FRAME_ERROR,         /* either way: a message, then the sender closes */
	MIG_FRAME_ACCEPTED,      /* dst -> src: verdict 0 and a clean end of stream */
	MIG_FRAME_TYPES
};

/* HELLO: what the destination must allocate. */
struct mig_hello {
	uint32_t version; /* MIG_PROTOCOL_VERSION */
	uint32_t page_size;
	uint64_t mem_size;
};
#define MIG_PROTOCOL_VERSION 2u /* 2: the half-close and ACCEPTED */

struct mig_codec;

/*
 * Random transport faults (testing: `--inject random@SEED`).  Each frame is
 * hit with a small probability by one fault the receiver must detect (by
 * checksum, sequence number, length, end of stream or timeout); after the
 * first one the stream is broken and nothing more is injected.  Delays are
 * not faults: the stream must tolerate them.
 */
enum mig_fault {
	MIG_FAULT_NONE,
	MIG_FAULT_FLIP,      /* a bit of a sent frame flips after its checksum */
	MIG_FAULT_DROP,      /* a sent frame never arrives */
	MIG_FAULT_TRUNCATE,  /* a prefix of a sent frame arrives, then the next frames */
	MIG_FAULT_DUPLICATE, /* a sent frame arrives twice */
	MIG_FAULT_REORDER,   /* a sent frame arrives after the next one */
	MIG_FAULT_CUT,       /* the connection is cut before a sent frame */
	MIG_FAULT_FLIP_RECV, /* a bit of a received frame flips before it is checked */
	MIG_FAULTS
};

struct mig_chaos {
	uint64_t rng;
	enum mig_fault fault;     /* the one injected, or NONE */
	uint32_t fault_frame;     /* its number in its direction */
	uint8_t fault_frame_type;
	unsigned int delays;      /* frames sent late */
	/* REORDER: the frame held back until the next one is sent */
	unsigned char *held;
	uint32_t held_len, held_seq;
	uint8_t held_type;
};

void mig_chaos_init(struct mig_chaos *ch, uint64_t seed);
/* "frame 12 (PAGES) dropped on the way", or "" if nothing was injected. */
void mig_chaos_describe(const struct mig_chaos *ch, char *buf, size_t len);
const char *mig_fault_name(enum mig_fault f);
const char *mig_frame_type_name(uint8_t type);

/* One end of the stream. */
struct mig_conn {
	int fd;
	const char *peer;       /* "destination" or "source", for messages */
	uint32_t send_seq, recv_seq;
	struct mig_ratelimit limit;
	struct mig_codec *codec; /* non-NULL: compress what is sent */
	struct mig_codec *decoder;
	unsigned char *wire;    /* one compressed payload */
	unsigned int timeout_ms;
	int64_t flip_frame;     /* fault injection: corrupt this sent frame (-1: none) */
	struct mig_chaos *chaos; /* random fault injection (NULL: none) */
	uint64_t bytes_wire, bytes_raw, frames; /* sent */
	char error[256];        /* why the last call failed */
};

/* fd is connected; bandwidth bytes/s (0: unlimited); compress: zstd
 * (mig_codec_available() must be true).  0, or -1 (out of memory). */
int mig_conn_init(struct mig_conn *c, int fd, const char *peer, uint64_t bandwidth,
		  bool compress, unsigned int timeout_ms);
/* Closes the socket and frees the buffers. */
void mig_conn_close(struct mig_conn *c);

/* Sends one frame (len <= MIG_FRAME_MAX); 0, or -1 with c->error. */
int mig_send(struct mig_conn *c, uint8_t type, uint64_t arg, const void *payload, uint32_t len);

struct mig_frame {
	uint8_t type;
	uint64_t arg;
	uint32_t len; /* raw payload bytes now in the caller's buffer */
};

/* Receives one frame into buf (MIG_FRAME_MAX bytes); 0, or -1 with
 * c->error.  An ERROR frame from the peer is returned as -1 with its
 * message in c->error. */
int mig_recv(struct mig_conn *c, struct mig_frame *f, void *buf);

/* The sender's end of the stream: a half-close (the peer reads EOF, and
 * can still answer); 0, or -1 with c->error. */
int mig_send_end(struct mig_conn *c);

/* The receiver's check of that end: 0 once the peer has half-closed with
 * nothing more sent, or -1 with c->error. */
int mig_recv_end(struct mig_conn *c);

/* Between sends: true if the peer has reported an error or closed the
 * connection (c->error says which); never blocks. */
bool mig_peer_failed(struct mig_conn *c, void *buf);

/* Sends an ERROR frame with the message, ignoring failures (the link may
 * be the problem). */
void mig_send_error(struct mig_conn *c, const char *msg);

/* After an ERROR: ends the sending side and discards what the peer still
 * sends until it closes (at most max_ms), so that unread data does not reset
 * the connection before the peer has read the ERROR. */
void mig_drain(struct mig_conn *c, unsigned int max_ms);

/* Encodes and checks a header (exposed for the unit tests). */
void mig_header_encode(unsigned char h[MIG_FRAME_HEADER], uint8_t type, uint8_t flags,
		       uint32_t seq, uint32_t wire_len, uint32_t raw_len, uint64_t arg,
		       const void *wire);
uint64_t mig_frame_checksum(const unsigned char h[MIG_FRAME_HEADER], const void *wire,
			    uint32_t wire_len);

#endif
