/*
 * Disk faults for the reliability suite (test/reliability/disk-faults.test.ts), injected below Node.js:
 * loaded with LD_PRELOAD into a Node-RED process, it makes the C library's write and sync calls fail
 * with ENOSPC or EIO on the files named in a control file, the way a full or failing disk does.
 *
 * DNC_FAULT_CONTROL names the control file, read at each call (the test rewrites it to start and clear
 * faults while the process runs). Each line is "<ENOSPC|EIO> <text>": a call on a file whose path
 * contains <text> fails. ENOSPC fails the write calls, writing half of a large buffer first as a disk
 * filling up does (the caller sees a short write, then the error); EIO fails writes and syncs. An empty
 * or missing file: no fault. Only for tests; libuv must not use io_uring (UV_USE_IO_URING=0), which
 * would bypass these calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum fault { NONE = 0, NOSPACE, IOERROR };
enum call { WRITE, SYNC };

/* The fault for a call on fd, from the control file; errno is left as it was. */
static enum fault fault_for(int fd, enum call call) {
  const char *control = getenv("DNC_FAULT_CONTROL");
  if (control == NULL || fd < 3) return NONE;
  int saved = errno;
  char link[64], target[4096], text[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  enum fault found = NONE;
  if (n > 0) {
    target[n] = '\0';
    int cfd = open(control, O_RDONLY | O_CLOEXEC);
    if (cfd >= 0) {
      ssize_t len = read(cfd, text, sizeof text - 1);
      close(cfd);
      if (len > 0) {
        text[len] = '\0';
        for (char *line = strtok(text, "\n"); line != NULL && found == NONE; line = strtok(NULL, "\n")) {
          char *space = strchr(line, ' ');
          if (space == NULL || space[1] == '\0' || strstr(target, space + 1) == NULL) continue;
          *space = '\0';
          if (strcmp(line, "ENOSPC") == 0 && call == WRITE) found = NOSPACE;
          else if (strcmp(line, "EIO") == 0) found = IOERROR;
        }
      }
    }
  }
  errno = saved;
  return found;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*sync_fn)(int);

/* The C library's own function, found once. */
#define REAL(name, type) \
  static type real = NULL; \
  if (real == NULL) real = (type)dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void *buf, size_t count) {
  REAL("write", write_fn);
  enum fault f = fault_for(fd, WRITE);
  if (f == NOSPACE && count >= 64) return real(fd, buf, count / 2);
  if (f != NONE) { errno = f == NOSPACE ? ENOSPC : EIO; return -1; }
  return real(fd, buf, count);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
  REAL("pwrite64", pwrite_fn);
  enum fault f = fault_for(fd, WRITE);
  if (f == NOSPACE && count >= 64) return real(fd, buf, count / 2, offset);
  if (f != NONE) { errno = f == NOSPACE ? ENOSPC : EIO; return -1; }
  return real(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
  return pwrite64(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  REAL("writev", writev_fn);
  enum fault f = fault_for(fd, WRITE);
  if (f != NONE) { errno = f == NOSPACE ? ENOSPC : EIO; return -1; }
  return real(fd, iov, iovcnt);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
  REAL("pwritev64", pwritev_fn);
  enum fault f = fault_for(fd, WRITE);
  if (f != NONE) { errno = f == NOSPACE ? ENOSPC : EIO; return -1; }
  return real(fd, iov, iovcnt, offset);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
  return pwritev64(fd, iov, iovcnt, offset);
}

int fsync(int fd) {
  REAL("fsync", sync_fn);
  if (fault_for(fd, SYNC) == IOERROR) { errno = EIO; return -1; }
  return real(fd);
}

int fdatasync(int fd) {
  REAL("fdatasync", sync_fn);
  if (fault_for(fd, SYNC) == IOERROR) { errno = EIO; return -1; }
  return real(fd);
}
