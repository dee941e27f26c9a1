/*
 * rackseed-zero: the deploy agent's zero ranges (agent/ramdisk/deploy.sh), for what busybox has no applet:
 *
 *   rackseed-zero zero  /dev/DISK < RANGES   make each range read as zeros: ioctl BLKZEROOUT (the kernel sends the
 *                                            device WRITE ZEROES, or writes zero pages itself when the device has no
 *                                            such command: either way the range reads back as zeros, never as
 *                                            whatever an earlier tenant left there)
 *   rackseed-zero check /dev/DISK < RANGES   read each range back (4 MiB preads) and fail at the first non-zero byte
 *   rackseed-zero sum   /dev/DISK < RANGES   read the ranges back in order (4 MiB preads) and print the Fletcher-4 of
 *                                            their bytes concatenated: 64 hex digits and a newline on stdout (ZFS's
 *                                            fletcher_4: little-endian 32-bit words w, a += w; b += a; c += b; d += c,
 *                                            mod 2^64; a trailing partial word zero-padded; printed a‖b‖c‖d, each as 16
 *                                            hex digits; the daemon computes the same in core/images/fletcher4.ts)
 *
 * RANGES: one "OFFSET LENGTH" line per range, decimal bytes, each a multiple of 512 (BLKZEROOUT works in sectors).
 * Exit 0 when every range is done, 1 with one line on stderr naming the range and errno when one fails, 2 on bad use.
 *
 * Freestanding x86-64 Linux (no libc: a few KB, static, built by agent/build/helper.ts with the ramdisk), because the
 * checks run under QEMU's emulation in the lab, where busybox's byte-at-a-time cmp and tr read ~1 MB/s and this reads
 * hundreds of MB/s; busybox's sha256sum costs ~69 instructions per byte there, this sum ~2.
 */
typedef unsigned long u64;
typedef long i64;

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_ioctl 16
#define SYS_pread64 17
#define SYS_exit_group 231
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CLOEXEC 02000000
#define BLKZEROOUT 0x127f /* _IO(0x12, 127) */
#define BUF (4UL << 20)

static i64 sys3(i64 n, i64 a, i64 b, i64 c) {
  i64 r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static i64 sys4(i64 n, i64 a, i64 b, i64 c, i64 d) {
  i64 r;
  register i64 r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return r;
}

static __attribute__((noreturn)) void quit(int code) {
  sys3(SYS_exit_group, code, 0, 0);
  for (;;) {}
}

static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static void put(const char *s) { sys3(SYS_write, 2, (i64)s, (i64)slen(s)); }

static void putnum(u64 v) {
  char b[24];
  int i = 23;
  b[i] = 0;
  do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v && i > 0);
  put(b + i);
}

/* "rackseed-zero: WHAT OFFSET+LENGTH: errno N" and exit 1 */
static __attribute__((noreturn)) void fail(const char *what, u64 off, u64 len, i64 err) {
  put("rackseed-zero: ");
  put(what);
  put(" at byte ");
  putnum(off);
  put(" (+");
  putnum(len);
  put(")");
  if (err) { put(": errno "); putnum((u64)-err); }
  put("\n");
  quit(1);
}

static char buf[BUF] __attribute__((aligned(4096)));
static char in[65536];
static i64 in_len, in_pos;

/* the next "OFFSET LENGTH" line of stdin: 1, or 0 at its end */
static int next_range(u64 *off, u64 *len) {
  u64 v[2] = {0, 0};
  int field = 0, digits = 0;
  for (;;) {
    if (in_pos == in_len) {
      in_len = sys3(SYS_read, 0, (i64)in, sizeof in);
      in_pos = 0;
      if (in_len < 0) fail("reading the ranges on stdin failed", 0, 0, in_len);
      if (in_len == 0) {
        if (field == 0 && digits == 0) return 0;
        break;
      }
    }
    char c = in[in_pos++];
    if (c >= '0' && c <= '9') {
      if (field > 1 || v[field] > (~0UL - 9) / 10) { put("rackseed-zero: bad range line\n"); quit(2); }
      v[field] = v[field] * 10 + (u64)(c - '0');
      digits++;
    } else if (c == ' ' || c == '\t') {
      if (digits) { field++; digits = 0; }
    } else if (c == '\n') {
      if (field == 0 && digits == 0) continue;
      break;
    } else { put("rackseed-zero: bad range line\n"); quit(2); }
  }
  if (!(field == 1 && digits) && !(field == 2 && !digits)) { put("rackseed-zero: a range line needs OFFSET LENGTH\n"); quit(2); }
  *off = v[0];
  *len = v[1];
  return 1;
}

/* Fletcher-4 state; `part` holds the 0-3 bytes of a word not yet complete (a read may end inside one) */
struct f4 { u64 a, b, c, d; unsigned int part; int part_len; };

static void f4_word(struct f4 *s, unsigned int w) { s->a += w; s->b += s->a; s->c += s->b; s->d += s->c; }

static void f4_bytes(struct f4 *s, const unsigned char *p, u64 n) {
  while (s->part_len && n) { s->part |= (unsigned int)*p++ << (8 * s->part_len); n--; if (++s->part_len == 4) { f4_word(s, s->part); s->part = 0; s->part_len = 0; } }
  u64 a = s->a, b = s->b, c = s->c, d = s->d;
  const unsigned char *end = p + (n & ~3UL);
  for (; p < end; p += 4) {
    unsigned int w;
    __builtin_memcpy(&w, p, 4); /* x86-64: little-endian, unaligned loads are fine */
    a += w; b += a; c += b; d += c;
  }
  s->a = a; s->b = b; s->c = c; s->d = d;
  for (n &= 3; n; n--) s->part |= (unsigned int)*p++ << (8 * s->part_len++);
}

static void f4_print(struct f4 *s) {
  if (s->part_len) f4_word(s, s->part);
  u64 v[4] = {s->a, s->b, s->c, s->d};
  char out[65];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 16; j++) out[16 * i + j] = "0123456789abcdef"[(v[i] >> (60 - 4 * j)) & 15];
  out[64] = '\n';
  sys3(SYS_write, 1, (i64)out, 65);
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

int rz_main(int argc, char **argv) {
  if (argc != 3 || (!streq(argv[1], "zero") && !streq(argv[1], "check") && !streq(argv[1], "sum"))) {
    put("usage: rackseed-zero zero|check|sum /dev/DISK < ranges (OFFSET LENGTH lines)\n");
    return 2;
  }
  int zero = streq(argv[1], "zero"), sum = streq(argv[1], "sum");
  struct f4 f = {0, 0, 0, 0, 0, 0};
  i64 fd = sys3(SYS_open, (i64)argv[2], (zero ? O_WRONLY : O_RDONLY) | O_CLOEXEC, 0);
  if (fd < 0) fail("cannot open the disk", 0, 0, fd);
  u64 off, len;
  while (next_range(&off, &len)) {
    if (len == 0) continue;
    if ((off | len) & 511) fail("range not in whole 512-byte sectors", off, len, 0);
    if (zero) {
      u64 r[2] = {off, len};
      i64 e = sys3(SYS_ioctl, fd, BLKZEROOUT, (i64)r);
      if (e < 0) fail("BLKZEROOUT failed", off, len, e);
      continue;
    }
    u64 at = off, left = len;
    while (left) {
      u64 n = left < BUF ? left : BUF;
      i64 got = sys4(SYS_pread64, fd, (i64)buf, (i64)n, (i64)at);
      if (got < 0) fail("reading back failed", at, left, got);
      if (got == 0) fail("the disk ends inside the range", at, left, 0);
      if (sum) {
        f4_bytes(&f, (const unsigned char *)buf, (u64)got);
        at += (u64)got;
        left -= (u64)got;
        continue;
      }
      const u64 *w = (const u64 *)buf;
      u64 acc = 0;
      for (u64 i = 0; i < (u64)got / 8; i++) acc |= w[i];
      for (u64 i = (u64)got & ~7UL; i < (u64)got; i++) acc |= (unsigned char)buf[i];
      if (acc) {
        u64 i = 0;
        while (!buf[i]) i++;
        fail("not zero", at + i, len - (at + i - off), 0);
      }
      at += (u64)got;
      left -= (u64)got;
    }
  }
  if (sum) f4_print(&f);
  return 0;
}

/* the kernel's entry: argc at (%rsp), argv after it; keep the stack 16-byte aligned for the call */
__asm__(
  ".text\n.global _start\n_start:\n"
  "  xor %rbp, %rbp\n"
  "  mov (%rsp), %rdi\n"
  "  lea 8(%rsp), %rsi\n"
  "  and $-16, %rsp\n"
  "  call rz_main\n"
  "  mov %rax, %rdi\n"
  "  mov $231, %rax\n"
  "  syscall\n");
