/*
 * LD_PRELOAD shim for tests: while the file named by EIO_TRIGGER exists, fsync, fdatasync and
 * (with EIO_OPS containing "write") write/writev on files under the directory EIO_DIR fail with
 * EIO, as on a failing SD card. Everything else goes straight to libc. libuv runs these calls in
 * its threadpool through libc, so a Node process sees a real EIO from the kernel's point of view
 * of the caller: the error comes back where the syscall would have returned it.
 *
 *   EIO_DIR=/path/outbox EIO_TRIGGER=/path/eio-on EIO_OPS=sync,write LD_PRELOAD=eio.so node ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char dir[PATH_MAX];
static char trigger[PATH_MAX];
static int fail_sync = 1;
static int fail_write = 0;

static void copy_env(char *to, const char *name) {
  const char *value = getenv(name);
  if (value && strlen(value) < PATH_MAX) strcpy(to, value);
}

/* Read once, before main: libuv calls in from threadpool threads, where getenv is not safe. */
__attribute__((constructor)) static void init(void) {
  copy_env(dir, "EIO_DIR");
  copy_env(trigger, "EIO_TRIGGER");
  const char *ops = getenv("EIO_OPS");
  if (ops) {
    fail_sync = strstr(ops, "sync") != NULL;
    fail_write = strstr(ops, "write") != NULL;
  }
}

static int faulty(int fd) {
  if (!dir[0] || !trigger[0] || access(trigger, F_OK) != 0) return 0;
  char link[64];
  char path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = '\0';
  size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int fsync(int fd) {
  if (fail_sync && faulty(fd)) return errno = EIO, -1;
  return NEXT(fsync)(fd);
}

int fdatasync(int fd) {
  if (fail_sync && faulty(fd)) return errno = EIO, -1;
  return NEXT(fdatasync)(fd);
}

ssize_t write(int fd, const void *buf, size_t count) {
  if (fail_write && faulty(fd)) return errno = EIO, -1;
  return NEXT(write)(fd, buf, count);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  if (fail_write && faulty(fd)) return errno = EIO, -1;
  return NEXT(writev)(fd, iov, iovcnt);
}
