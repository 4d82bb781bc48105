/*
 * cocoon-spawn: executes a container spawn plan computed by run.cocoon.container.
 *
 * It does no parsing of JSON and takes no decisions: the Java side validated the OCI config,
 * resolved every path and wrote a list of operations. This program runs them in order.
 *
 * File descriptors on entry (set up by the Java side with posix_spawn):
 *   0,1,2  the container's stdio
 *   3      the plan (read to EOF)
 *   4      the status pipe to Java (fixed 16-byte records, see struct report)
 *   5      the start pipe: WAIT_START blocks until a byte arrives (EOF cancels); for a
 *          detached create, the container's exec FIFO opened read-write
 *
 * Operations before FORK run in this process (unshare or setns of the PID namespace). FORK
 * creates the container process (PID 1 of a new PID namespace when one was unshared); the rest
 * of the plan (join cgroups, the other namespaces, mounts, credentials, execve) runs in that
 * child, so the relay itself stays outside the container's cgroup. The parent stays as a small relay: it reports the child's host PID,
 * forwards the child's READY and failures, reports EXEC_OK when the child's close-on-exec pipe
 * closes, then waits for the child and reports its wait status.
 *
 * Plan record: u32 op, u32 nnum, u32 nstr, u64 num[nnum], then nstr strings, each
 * u32 len + len bytes + one NUL byte. All integers little endian. Header: "CSP1".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLAN_FD 3
#define STATUS_FD 4
#define START_FD 5
#define MAX_PLAN_BYTES (4 * 1024 * 1024) /* PlanEncoder.MAX_PLAN_BYTES */
#define MAX_RECORD_STRINGS 70000         /* PlanEncoder.MAX_RECORD_STRINGS */
#define MAX_RECORD_NUMS 4097             /* PlanEncoder.MAX_RECORD_NUMS (flags + BPF_MAXINSNS) */

enum op {
  OP_JOIN_CGROUP = 1, OP_UNSHARE = 2, OP_SETNS = 3, OP_FORK = 4, OP_SETSID = 5,
  OP_HOSTNAME = 6, OP_MOUNT = 7, OP_OPEN_ROOT = 8, OP_MKDIRS = 9, OP_MKFILE = 10,
  OP_MASK = 11, OP_READONLY = 12, OP_PIVOT_ROOT = 13, OP_RLIMIT = 14, OP_SETGROUPS = 15,
  OP_SETRESGID = 16, OP_SETRESUID = 17, OP_KEEPCAPS = 18, OP_CAPBSET_DROP = 19,
  OP_CAPSET = 20, OP_AMBIENT_RAISE = 21, OP_NO_NEW_PRIVS = 22, OP_CHDIR = 23,
  OP_READY = 24, OP_WAIT_START = 25, OP_EXEC = 26, OP_SYMLINK = 27, OP_SETCTTY = 28,
  OP_DETACH = 29, OP_CONSOLE = 30, OP_SECCOMP = 31,
};
/* DETACH modes: when the relay leaves (the container outlives the caller, see do_fork). */
#define DETACH_AT_READY 1 /* create: the process waits for start on an exec FIFO */
#define DETACH_AT_EXEC 2  /* exec: leave once execve ran or failed */
/* Steps that are not plan operations. */
#define STEP_READ_PLAN 100
#define STEP_DECODE_PLAN 101
#define STEP_RELAY 102

enum kind { K_PID = 1, K_ERROR = 2, K_READY = 3, K_EXEC_OK = 4, K_EXITED = 5 };
struct report { int32_t kind, step, err, value; };

/* mount target flags (num[1] of OP_MOUNT) */
#define TARGET_IN_ROOT 1

struct rec { uint32_t op, nnum, nstr; uint64_t *num; char **str; };

/* Fewest numbers and strings each operation reads (index: opcode); a record with fewer is a
 * corrupt plan, refused before it is acted on. */
static const uint8_t MIN_NUMS[] = {0, 0, 1, 1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 3, 0,
                                   1, 1, 1, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 2};
static const uint8_t MIN_STRS[] = {0, 1, 0, 1, 0, 0, 1, 4, 1, 1, 1, 1, 1, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 2, 0, 0, 1, 0};
_Static_assert(sizeof MIN_NUMS == sizeof MIN_STRS, "one arity entry per opcode");
_Static_assert(sizeof MIN_NUMS == OP_SECCOMP + 1, "arity table covers every opcode");
/* SECCOMP: num[0] the flags, num[1..] the program, each number one struct sock_filter. */
_Static_assert(sizeof(struct sock_filter) == sizeof(uint64_t), "a BPF instruction is one plan number");

static unsigned char *plan;
static size_t plan_len, plan_pos;
static int root_fd = -1;
static int report_fd = STATUS_FD; /* in the child: the close-on-exec pipe to the relay */
static int op_index;
static int forked;
static int detach_mode; /* 0: the relay waits for the container and reports its exit */

static void send_report(int fd, int kind, int step, int err, int value) {
  struct report r = {kind, step, err, value};
  ssize_t n;
  do { n = write(fd, &r, sizeof r); } while (n < 0 && errno == EINTR);
}

static _Noreturn void fail(int step) {
  send_report(report_fd, K_ERROR, step, errno, op_index);
  _exit(127);
}

static int read_u32(uint32_t *v) {
  if (plan_len - plan_pos < 4) return -1;
  memcpy(v, plan + plan_pos, 4);
  plan_pos += 4;
  return 0;
}

static int next_record(struct rec *r) {
  if (read_u32(&r->op) || read_u32(&r->nnum) || read_u32(&r->nstr)) return -1;
  if (r->nnum > MAX_RECORD_NUMS || r->nstr > MAX_RECORD_STRINGS) return -1;
  if (r->op == 0 || r->op >= sizeof MIN_NUMS) return -1;
  if (r->nnum < MIN_NUMS[r->op] || r->nstr < MIN_STRS[r->op]) return -1;
  if ((plan_len - plan_pos) / 8 < r->nnum) return -1;
  r->num = calloc(r->nnum + 1, sizeof *r->num);
  r->str = calloc(r->nstr + 1, sizeof *r->str);
  if (!r->num || !r->str) return -1;
  memcpy(r->num, plan + plan_pos, 8 * (size_t)r->nnum);
  plan_pos += 8 * (size_t)r->nnum;
  for (uint32_t i = 0; i < r->nstr; i++) {
    uint32_t len;
    if (read_u32(&len) || plan_len - plan_pos < (size_t)len + 1) return -1;
    char *s = (char *)plan + plan_pos;
    if (s[len] != 0 || memchr(s, 0, len) != NULL) return -1;
    r->str[i] = s;
    plan_pos += (size_t)len + 1;
  }
  return 0;
}

static const char *opt(const char *s) { return (s && *s) ? s : NULL; }

/* Opens a path inside the container root; the kernel refuses any escape (RESOLVE_IN_ROOT). */
static int open_in_root(const char *rel, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  if (root_fd < 0) { errno = EBADF; return -1; }
  return (int)syscall(SYS_openat2, root_fd, *rel ? rel : ".", &how, sizeof how);
}

static void fd_path(int fd, char *buf, size_t len) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

static void do_mount(struct rec *r) {
  const char *target = r->str[1];
  char path[64];
  int fd = -1;
  if (r->num[1] & TARGET_IN_ROOT) {
    fd = open_in_root(target, O_PATH);
    if (fd < 0) fail(OP_MOUNT);
    fd_path(fd, path, sizeof path);
    target = path;
  }
  if (mount(opt(r->str[0]), target, opt(r->str[2]), (unsigned long)r->num[0], opt(r->str[3])) < 0)
    fail(OP_MOUNT);
  if (fd >= 0) close(fd);
}

static void do_mkdirs(const char *rel, mode_t mode) {
  char buf[4096];
  size_t n = strlen(rel);
  if (n >= sizeof buf) { errno = ENAMETOOLONG; fail(OP_MKDIRS); }
  memcpy(buf, rel, n + 1);
  for (size_t i = 0; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char saved = buf[i];
    buf[i] = 0;
    char *slash = strrchr(buf, '/');
    const char *name = slash ? slash + 1 : buf;
    if (*name) {
      if (slash) *slash = 0;
      int parent = open_in_root(slash ? buf : "", O_PATH | O_DIRECTORY);
      if (slash) *slash = '/';
      if (parent < 0) fail(OP_MKDIRS);
      if (mkdirat(parent, name, mode) < 0 && errno != EEXIST) fail(OP_MKDIRS);
      close(parent);
    }
    buf[i] = saved;
  }
  int fd = open_in_root(rel, O_PATH | O_DIRECTORY); /* must end as a directory */
  if (fd < 0) fail(OP_MKDIRS);
  close(fd);
}

static void split_parent(const char *rel, char *parent, size_t len, const char **name) {
  const char *slash = strrchr(rel, '/');
  if (!slash) { parent[0] = 0; *name = rel; return; }
  size_t n = (size_t)(slash - rel);
  if (n >= len) n = len - 1;
  memcpy(parent, rel, n);
  parent[n] = 0;
  *name = slash + 1;
}

static void do_mkfile(const char *rel) {
  char parent[4096];
  const char *name;
  split_parent(rel, parent, sizeof parent, &name);
  int dir = open_in_root(parent, O_PATH | O_DIRECTORY);
  if (dir < 0) fail(OP_MKFILE);
  int fd = openat(dir, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR) fail(OP_MKFILE);
  if (fd >= 0) close(fd);
  close(dir);
}

static void do_symlink(const char *target, const char *rel) {
  char parent[4096];
  const char *name;
  split_parent(rel, parent, sizeof parent, &name);
  int dir = open_in_root(parent, O_PATH | O_DIRECTORY);
  if (dir < 0) fail(OP_SYMLINK);
  if (symlinkat(target, dir, name) < 0 && errno != EEXIST) fail(OP_SYMLINK);
  close(dir);
}

/* Masks a path: a read-only empty tmpfs over a directory, /dev/null over anything else. */
static void do_mask(const char *rel) {
  char path[64];
  int fd = open_in_root(rel, O_PATH);
  if (fd < 0) { if (errno == ENOENT) return; fail(OP_MASK); }
  struct stat st;
  if (fstat(fd, &st) < 0) fail(OP_MASK);
  fd_path(fd, path, sizeof path);
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0) fail(OP_MASK);
  } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
    fail(OP_MASK);
  }
  close(fd);
}

static void do_readonly(const char *rel) {
  char path[64];
  int fd = open_in_root(rel, O_PATH);
  if (fd < 0) { if (errno == ENOENT) return; fail(OP_READONLY); }
  fd_path(fd, path, sizeof path);
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) fail(OP_READONLY);
  close(fd);
  fd = open_in_root(rel, O_PATH); /* the new mount, not the directory under it */
  if (fd < 0) fail(OP_READONLY);
  fd_path(fd, path, sizeof path);
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            NULL) < 0)
    fail(OP_READONLY);
  close(fd);
}

/* runc's --console-socket: a pty from the container's own devpts (so ttyname works inside),
 * the master sent to the caller's Unix socket with SCM_RIGHTS, the slave as stdio. */
static void do_console(const char *sock_path) {
  int ptmx = open_in_root("dev/ptmx", O_RDWR | O_NOCTTY);
  if (ptmx < 0) fail(OP_CONSOLE);
  int unlock = 0;
  if (ioctl(ptmx, TIOCSPTLCK, &unlock) < 0) fail(OP_CONSOLE);
  int slave = ioctl(ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) fail(OP_CONSOLE);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(sock_path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; fail(OP_CONSOLE); }
  strcpy(addr.sun_path, sock_path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) fail(OP_CONSOLE);
  char name[] = "/dev/ptmx";
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &ptmx, sizeof(int));
  ssize_t n;
  do { n = sendmsg(s, &msg, 0); } while (n < 0 && errno == EINTR);
  if (n < 0) fail(OP_CONSOLE);
  close(s);
  close(ptmx);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) fail(OP_CONSOLE);
  if (slave > 2) close(slave);
}

static void do_pivot_root(void) {
  if (fchdir(root_fd) < 0) fail(OP_PIVOT_ROOT);
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(OP_PIVOT_ROOT);
  /* The old root is stacked under the new one: make it private, then detach it. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail(OP_PIVOT_ROOT);
  if (umount2(".", MNT_DETACH) < 0) fail(OP_PIVOT_ROOT);
  if (chdir("/") < 0) fail(OP_PIVOT_ROOT);
  close(root_fd);
  root_fd = -1;
}

static void do_capset(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)}};
  if (syscall(SYS_capset, &h, d) < 0) fail(OP_CAPSET);
}

static _Noreturn void do_exec(struct rec *r) {
  uint64_t argc = r->num[0];
  if (argc == 0 || argc > (uint64_t)r->nstr - 1) { errno = EINVAL; fail(OP_EXEC); }
  /* strings: PATH, argv[0..argc), envp...; str[] is NULL terminated, so envp already is. */
  char **argv = calloc(argc + 1, sizeof *argv);
  if (!argv) fail(OP_EXEC);
  memcpy(argv, &r->str[1], argc * sizeof *argv);
  char **env = &r->str[1 + argc];
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, env);
    fail(OP_EXEC);
  }
  /* Search the PATH the plan gave (the container's own PATH). */
  int err = ENOENT;
  const char *p = r->str[0];
  char buf[4096];
  while (*p) {
    const char *end = strchrnul(p, ':');
    int n = snprintf(buf, sizeof buf, "%.*s/%s", (int)(end - p), p, argv[0]);
    if (n > 0 && (size_t)n < sizeof buf) {
      execve(buf, argv, env);
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    p = *end ? end + 1 : end;
  }
  errno = err;
  fail(OP_EXEC);
}

static _Noreturn void relay(pid_t child, int from_child) {
  int failed = 0;
  struct report r;
  for (;;) {
    ssize_t n = read(from_child, &r, sizeof r);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof r) break; /* EOF: the child ran execve (or died) */
    if (r.kind == K_ERROR) failed = 1;
    send_report(STATUS_FD, r.kind, r.step, r.err, r.value);
    /* Detached create: the container now waits on its exec FIFO; once the relay is gone it is
     * re-parented to the caller's subreaper (conmon) or init, which gets its exit status. */
    if (detach_mode == DETACH_AT_READY && r.kind == K_READY) _exit(0);
  }
  close(from_child);
  if (!failed) send_report(STATUS_FD, K_EXEC_OK, 0, 0, 0);
  int status;
  if (detach_mode && !failed) _exit(0); /* the exec'd process lives on without us */
  while (waitpid(child, &status, __WALL) < 0) {
    if (errno != EINTR) { send_report(STATUS_FD, K_ERROR, STEP_RELAY, errno, 0); _exit(126); }
  }
  send_report(STATUS_FD, K_EXITED, 0, 0, status);
  _exit(0);
}

static void do_fork(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) fail(OP_FORK);
  pid_t relay_pid = getpid();
  pid_t child = fork();
  if (child < 0) fail(OP_FORK);
  if (child > 0) {
    close(p[1]);
    close(START_FD);
    close(0); /* the relay holds no stdio: the caller sees EOF when the container's is closed */
    close(1);
    close(2);
    /* A detached caller may be gone by the time later reports are written. */
    if (detach_mode) signal(SIGPIPE, SIG_IGN);
    send_report(STATUS_FD, K_PID, 0, 0, child);
    relay(child, p[0]);
  }
  close(p[0]);
  close(STATUS_FD);
  report_fd = p[1];
  /* The container dies with its relay; the relay dies when asked or when its child ends.
   * Detached, the relay leaves early and the container must outlive it. */
  if (!detach_mode && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail(OP_FORK);
  pid_t parent = getppid(); /* 0 when the relay is outside our PID namespace */
  if (parent != relay_pid && parent != 0) { errno = ESRCH; fail(OP_FORK); }
}

int main(void) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) _exit(125);
  if (syscall(SYS_close_range, START_FD + 1, ~0U, 0) < 0) { /* nothing else leaks in */
    for (int fd = START_FD + 1; fd < 1024; fd++) close(fd);
  }
  plan = malloc(MAX_PLAN_BYTES);
  if (!plan) fail(STEP_READ_PLAN);
  for (;;) {
    ssize_t n = read(PLAN_FD, plan + plan_len, MAX_PLAN_BYTES - plan_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(STEP_READ_PLAN);
    if (n == 0) break;
    plan_len += (size_t)n;
    if (plan_len == MAX_PLAN_BYTES) { errno = E2BIG; fail(STEP_READ_PLAN); }
  }
  close(PLAN_FD);
  if (plan_len < 4 || memcmp(plan, "CSP1", 4) != 0) { errno = EINVAL; fail(STEP_DECODE_PLAN); }
  plan_pos = 4;
  while (plan_pos < plan_len) {
    struct rec r;
    if (next_record(&r) < 0) { errno = EINVAL; fail(STEP_DECODE_PLAN); }
    op_index++;
    /* Before FORK this is the relay, still in the caller's namespaces: only the operations
     * meant for it may run there (a corrupt plan must not, say, set the host's hostname). */
    if (!forked && r.op != OP_UNSHARE && r.op != OP_SETNS && r.op != OP_FORK && r.op != OP_DETACH) {
      errno = EINVAL;
      fail(STEP_DECODE_PLAN);
    }
    if (forked && (r.op == OP_FORK || r.op == OP_DETACH)) { errno = EINVAL; fail(STEP_DECODE_PLAN); }
    uint64_t *n = r.num;
    char **s = r.str;
    switch (r.op) {
      case OP_JOIN_CGROUP: { /* "0" is the writer itself, whatever its pid namespace */
        int fd = open(s[0], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) fail(OP_JOIN_CGROUP);
        close(fd);
        break;
      }
      case OP_UNSHARE: if (unshare((int)n[0]) < 0) fail(OP_UNSHARE); break;
      case OP_SETNS: {
        int fd = open(s[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, (int)n[0]) < 0) fail(OP_SETNS);
        close(fd);
        break;
      }
      case OP_DETACH:
        if (r.num[0] != DETACH_AT_READY && r.num[0] != DETACH_AT_EXEC) {
          errno = EINVAL;
          fail(STEP_DECODE_PLAN);
        }
        detach_mode = (int)r.num[0];
        /* Its own session: the caller's terminal signals (SIGINT, SIGHUP) do not reach it. */
        if (setsid() < 0 && errno != EPERM) fail(OP_DETACH);
        break;
      case OP_FORK: do_fork(); forked = 1; break;
      case OP_SETSID: if (setsid() < 0) fail(OP_SETSID); break;
      case OP_HOSTNAME: if (sethostname(s[0], strlen(s[0])) < 0) fail(OP_HOSTNAME); break;
      case OP_MOUNT: do_mount(&r); break;
      case OP_OPEN_ROOT:
        root_fd = open(s[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) fail(OP_OPEN_ROOT);
        break;
      case OP_MKDIRS: do_mkdirs(s[0], (mode_t)n[0]); break;
      case OP_MKFILE: do_mkfile(s[0]); break;
      case OP_SYMLINK: do_symlink(s[0], s[1]); break;
      case OP_MASK: do_mask(s[0]); break;
      case OP_READONLY: do_readonly(s[0]); break;
      case OP_PIVOT_ROOT: do_pivot_root(); break;
      case OP_RLIMIT: {
        struct rlimit rl = {(rlim_t)n[1], (rlim_t)n[2]};
        if (setrlimit((int)n[0], &rl) < 0) fail(OP_RLIMIT);
        break;
      }
      case OP_SETGROUPS: {
        gid_t gids[MAX_RECORD_NUMS];
        for (uint32_t i = 0; i < r.nnum; i++) gids[i] = (gid_t)n[i];
        if (setgroups(r.nnum, gids) < 0) fail(OP_SETGROUPS);
        break;
      }
      case OP_SETRESGID: if (setresgid((gid_t)n[0], (gid_t)n[0], (gid_t)n[0]) < 0) fail(OP_SETRESGID); break;
      case OP_SETRESUID: if (setresuid((uid_t)n[0], (uid_t)n[0], (uid_t)n[0]) < 0) fail(OP_SETRESUID); break;
      case OP_KEEPCAPS: if (prctl(PR_SET_KEEPCAPS, n[0], 0, 0, 0) < 0) fail(OP_KEEPCAPS); break;
      case OP_CAPBSET_DROP:
        for (uint32_t i = 0; i < r.nnum; i++)
          if (prctl(PR_CAPBSET_DROP, n[i], 0, 0, 0) < 0 && errno != EINVAL) fail(OP_CAPBSET_DROP);
        break;
      case OP_CAPSET: do_capset(n[0], n[1], n[2]); break;
      case OP_AMBIENT_RAISE:
        for (uint32_t i = 0; i < r.nnum; i++)
          if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n[i], 0, 0) < 0) fail(OP_AMBIENT_RAISE);
        break;
      case OP_NO_NEW_PRIVS: if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(OP_NO_NEW_PRIVS); break;
      case OP_CHDIR: if (chdir(s[0]) < 0) fail(OP_CHDIR); break;
      case OP_READY:
        send_report(report_fd, K_READY, 0, 0, 0);
        if (detach_mode == DETACH_AT_READY) { /* nobody reads further reports */
          close(report_fd);
          report_fd = -1;
        }
        break;
      case OP_WAIT_START: {
        char b;
        ssize_t got;
        do { got = read(START_FD, &b, 1); } while (got < 0 && errno == EINTR);
        if (got != 1) { errno = got == 0 ? ECANCELED : errno; fail(OP_WAIT_START); }
        close(START_FD);
        break;
      }
      case OP_CONSOLE: do_console(s[0]); break;
      case OP_SECCOMP: {
        struct sock_fprog prog = {.len = (unsigned short)(r.nnum - 1),
                                  .filter = (struct sock_filter *)&n[1]};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)n[0], &prog) < 0) fail(OP_SECCOMP);
        break;
      }
      case OP_SETCTTY: if (ioctl(0, TIOCSCTTY, 0) < 0) fail(OP_SETCTTY); break;
      case OP_EXEC: close(START_FD); do_exec(&r);
      default: errno = EINVAL; fail(STEP_DECODE_PLAN);
    }
  }
  errno = EINVAL; /* a plan must end in EXEC */
  fail(STEP_DECODE_PLAN);
}
