"""Enters a fresh sandbox from inside a process, as bubblewrap would set it up from outside.

Used by the zygote (bayou_zygote.py): a child cloned into new user, mount, PID, IPC, UTS and
(unless it may use the internet) network namespaces calls `enter`, which builds a new root of
read-only binds, one writable directory, a private /tmp, /dev and /proc, pivots into it, detaches
the host's tree, brings up loopback and drops every capability, so that neither the function nor
anything it starts can remount, see or write more than a bubblewrap sandbox would allow.
Linux only; every failure raises OSError naming the step.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import socket
import struct

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
SIGCHLD = 17

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_SLAVE, MS_RELATIME = 16384, 1 << 19, 1 << 21
ST_RELATIME = 4096
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 28, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# Root gains no capability by execve, nor may anything raise an ambient one; locked.
SECURE_BITS = 0b11000011
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1

# (clone, pivot_root, capset, mount_setattr) per architecture.
SYSCALLS = {"x86_64": (56, 155, 126, 442), "aarch64": (220, 41, 91, 442)}

DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]

_libc = ctypes.CDLL(None, use_errno=True)
# The clone runs with the GIL held, as os.fork does.
_pylibc = ctypes.PyDLL(None, use_errno=True)
_pylibc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def _syscall(index: int) -> int:
    numbers = SYSCALLS.get(platform.machine())
    if numbers is None:
        raise OSError(0, f"warm starts are not supported on {platform.machine()}")
    return numbers[index]


def clone(isolated: bool, internet: bool) -> int:
    """Like os.fork, with the child in new namespaces when `isolated`: 0 in the child."""
    flags = SIGCHLD
    if isolated:
        flags |= CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        if not internet:
            flags |= CLONE_NEWNET
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _pylibc.syscall(ctypes.c_long(_syscall(0)), ctypes.c_ulong(flags), None, None, None, None)
    errno = ctypes.get_errno()
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(errno, f"cannot clone into new namespaces: {os.strerror(errno)}")
    return pid


def map_ids(pid: int) -> None:
    """Maps the child's user and group to ours, as unprivileged bubblewrap does."""
    with open(f"/proc/{pid}/uid_map", "w") as f:
        f.write(f"{os.getuid()} {os.getuid()} 1\n")
    with open(f"/proc/{pid}/setgroups", "w") as f:
        f.write("deny")
    with open(f"/proc/{pid}/gid_map", "w") as f:
        f.write(f"{os.getgid()} {os.getgid()} 1\n")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _mount_point(target: str, like: str) -> None:
    """An empty directory or file at `target`, as `like` is one or the other."""
    if os.path.isdir(like):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()


def _bind(source: str, target: str) -> None:
    _mount_point(target, source)
    _mount(source, target, None, MS_BIND | MS_REC)


def _read_only(target: str) -> None:
    """Remounts a bind read-only, keeping the flags the kernel locks (nosuid, nodev, ...)."""
    kept = os.statvfs(target).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    if os.statvfs(target).f_flag & ST_RELATIME:
        kept |= MS_RELATIME
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _read_only_tree(target: str, writable: list[str]) -> None:
    """Makes a bind and every mount under it read-only: one mount_setattr (Linux 5.12), else a
    remount of each (but for the writable binds under it)."""
    attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY, 0, 0, 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    nested = [w for w in writable if w.startswith(target.rstrip("/") + "/")]
    if not nested and _libc.syscall(_syscall(3), AT_FDCWD, target.encode(), AT_RECURSIVE, buf, len(attr)) == 0:
        return
    _read_only(target)
    _submounts_read_only([target], writable)


def _submounts_read_only(roots: list[str], writable: list[str]) -> None:
    """Every mount nested under a read-only bind is read-only too, but for the writable binds
    (and what they hold)."""
    under = lambda p, r: p != r and p.startswith(r.rstrip("/") + "/")  # noqa: E731
    with open("/newroot/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    for point in points:
        kept_writable = any(point == w or under(point, w) for w in writable)
        if not kept_writable and any(under(point, r) for r in roots):
            try:
                _read_only(point)
            except OSError:
                pass  # a mount the kernel keeps as it is (already read-only or locked)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        siocsifflags, up_loopback_running = 0x8914, 0x1 | 0x8 | 0x40
        fcntl.ioctl(s.fileno(), siocsifflags, struct.pack("16sh22x", b"lo", up_loopback_running))


def _drop_capabilities() -> None:
    """None left, and none to gain: not by execve as root, nor from file capabilities."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.prctl(PR_SET_SECUREBITS, SECURE_BITS, 0, 0, 0), "securebits")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = ctypes.create_string_buffer(24)  # two empty {effective, permitted, inheritable}
    hdr = ctypes.create_string_buffer(header, len(header))
    _check(_libc.syscall(_syscall(2), hdr, data), "capset")


Bind = tuple[str, str, bool]  # (the host's real path, the path in the sandbox, read-only)


def binds(read_only: list[str], writable: list[str]) -> list[Bind]:
    """The binds of these paths (read-only ones that exist), resolved on the host: call it in
    the host's view of the file system, before `prepare`."""
    host = lambda p: "/oldroot" + os.path.realpath(p)  # noqa: E731
    ro = [p for p in read_only if os.path.exists(p)]
    return [(host(p), p, True) for p in ro] + [(host(p), p, False) for p in writable]


def prepare(fixed: list[Bind]) -> None:
    """The part of a sandbox that is the same for every call: a new root with /proc, /dev, a
    private /tmp and the `fixed` read-only binds, the host's tree still at /oldroot."""
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    _mount(None, "/", None, MS_SLAVE | MS_REC)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.chdir("/tmp")
    os.mkdir("newroot")
    os.mkdir("oldroot")
    _check(_libc.syscall(_syscall(1), b".", b"oldroot"), "pivot_root")
    _mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.makedirs("/newroot/proc")
    _mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs("/newroot/dev")
    _mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for dev in DEVICES:
        if os.path.exists(f"/oldroot/dev/{dev}"):
            _bind(f"/oldroot/dev/{dev}", f"/newroot/dev/{dev}")
    for name, to in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                     ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]:
        os.symlink(to, f"/newroot/dev/{name}")
    for tmp in ["/newroot/dev/shm", "/newroot/tmp"]:
        os.makedirs(tmp, exist_ok=True)
        _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    _bind_all(fixed)


def _bind_all(binds: list[Bind]) -> None:
    # Binds after the tmpfs mounts: an input under /dev/shm or an output under /tmp lands on
    # the new tmpfs.
    for source, target, _ in binds:
        _bind(source, "/newroot" + target)
    writable_targets = ["/newroot" + t for _, t, is_ro in binds if not is_ro]
    for _, target, is_ro in binds:
        if is_ro:
            _read_only_tree("/newroot" + target, writable_targets)


def finish(call: list[Bind], internet: bool, cwd: str) -> None:
    """The call's own binds on a `prepare`d root, then into it for good: the host's tree
    detached, loopback up, every capability dropped, in `cwd`."""
    _bind_all(call)
    os.chdir("/newroot")
    _check(_libc.syscall(_syscall(1), b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detaching the host's tree")
    os.chdir("/")
    if not internet:
        _loopback_up()
    _drop_capabilities()
    os.chdir(cwd)


def enter(read_only: list[str], writable: list[str], internet: bool, cwd: str) -> None:
    """Makes this process's root a sandbox of these paths (those that exist; bayou names the
    system's directories too) and enters `cwd` in it."""
    all_binds = binds(read_only, writable)
    prepare([])
    finish(all_binds, internet, cwd)
