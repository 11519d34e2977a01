#!/usr/bin/env python3
"""PEP 788 probes: check the five CPython 3.15 observations on the real
interpreter (make pep788-probes; docs/conformance.md).

Builds probe.c inside the Debian sid root of scripts/conform-env.sh as an
embedding host for python3.15 (and python3.14, for observation e), runs each
mode RUNS times under a watchdog (a hang is an expected outcome: it is seen
as a timeout), and prints one line per observation with its counts. The
builds are cached in ROOT/tmp/sfz-pep788 and redone only when probe.c or the
interpreter changes; the event log of every run of the latest invocation is
kept in ROOT/tmp/sfz-pep788/logs.

Exit status: 0 when every probe ran (whatever it showed), 1 when the
environment is missing or a build failed, and with --strict also when an
observation is not reproduced in full.
"""
import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.environ.get("SFZ_CONFORM_ROOT", "/var/cache/shutdownfuzz/sid")
HERE = os.path.dirname(os.path.abspath(__file__))
INSIDE = "/tmp/sfz-pep788"  # the build directory as the chroot sees it
HOST = ROOT + INSIDE
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
D_WATCHDOG = 4  # seconds: mode d is expected to hang after atexit


class Run:
    def __init__(self, mode, version, rc, timed_out, stderr, elapsed):
        self.mode, self.version, self.rc, self.timed_out = mode, version, rc, timed_out
        self.stderr, self.elapsed = stderr, elapsed
        self.events = []  # (ms, name, {key: value}, raw line)
        for line in stderr.splitlines():
            f = line.split()
            if len(f) < 3 or f[0] != "EV":
                continue
            attrs = dict(w.split("=", 1) for w in f[3:] if "=" in w)
            self.events.append((float(f[1]), f[2], attrs, line))

    def all(self, name):
        return [e for e in self.events if e[1] == name]

    def first(self, name):
        for e in self.events:
            if e[1] == name:
                return e
        return None

    def t(self, name):
        e = self.first(name)
        return e[0] if e else None

    def status(self):
        if self.timed_out:
            return "timeout"
        if self.rc < 0:
            return "signal %s" % signal.Signals(-self.rc).name
        return "exit %d" % self.rc


def die(msg):
    print("pep788-probes: " + msg, file=sys.stderr)
    sys.exit(1)


def chroot(*argv, **kw):
    return subprocess.run([CHROOT, ROOT] + list(argv), **kw)


def build(version):
    """Builds probe<XY> for python<version> unless the cached one is current."""
    exe = "probe" + version.replace(".", "")
    py = "/usr/bin/python" + version
    for p in (py, py + "-config", "/usr/bin/gcc"):
        if not os.path.exists(ROOT + p):
            die("%s is missing in %s: run `make conform-env`" % (p, ROOT))
    src = open(os.path.join(HERE, "probe.c"), "rb").read()
    real = os.path.realpath(ROOT + "/usr/lib/x86_64-linux-gnu/libpython%s.so" % version)
    ident = src + version.encode() + real.encode() + str(os.path.getmtime(real)).encode()
    digest = hashlib.sha256(ident).hexdigest()
    stamp = os.path.join(HOST, exe + ".sha256")
    if os.path.exists(os.path.join(HOST, exe)) and os.path.exists(stamp) and open(stamp).read() == digest:
        return exe
    os.makedirs(HOST, exist_ok=True)
    shutil.copy(os.path.join(HERE, "probe.c"), os.path.join(HOST, "probe.c"))
    cfg = "python%s-config --embed" % version
    cmd = ("cd %s && gcc -O1 -g -Wall -Wextra probe.c $(%s --cflags) -o %s.new $(%s --ldflags) -pthread && mv %s.new %s"
           % (INSIDE, cfg, exe, cfg, exe, exe))
    r = chroot("sh", "-c", cmd, capture_output=True, text=True)
    if r.returncode != 0:
        die("building %s failed:\n%s%s" % (exe, r.stdout, r.stderr))
    with open(stamp, "w") as f:
        f.write(digest)
    return exe


def run(exe, version, mode, timeout, sigint_after=None):
    """Runs one probe under a watchdog that kills its process group."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    p = subprocess.Popen([CHROOT, ROOT, "%s/%s" % (INSIDE, exe), mode], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, start_new_session=True)
    if sigint_after is not None:
        time.sleep(sigint_after)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
    timed_out = False
    try:
        _, err = p.communicate(timeout=max(0.1, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
    r = Run(mode, version, p.returncode, timed_out, err.decode(errors="replace"), time.monotonic() - start)
    logs = os.path.join(HOST, "logs")
    os.makedirs(logs, exist_ok=True)
    n = len([f for f in os.listdir(logs) if f.startswith("%s-%s-" % (exe, mode))])
    with open(os.path.join(logs, "%s-%s-%d.log" % (exe, mode, n + 1)), "w") as f:
        f.write("# %s mode %s: %s after %.2f s\n%s" % (exe, mode, r.status(), r.elapsed, r.stderr))
    return r


def span(xs, fmt="%.1f"):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    lo, hi = min(xs), max(xs)
    return fmt % lo if fmt % lo == fmt % hi else (fmt % lo) + "-" + (fmt % hi)


def label(ok, n):
    return ("REPRODUCED %d/%d" % (ok, n)) if ok == n else ("NOT REPRODUCED (%d/%d)" % (ok, n))


def obs_a(runs):
    ok, waits, holder_n, daemon_n, lag = 0, [], [], [], []
    bad = []
    for r in runs:
        # The close is timed by the event written just before
        # PyInterpreterGuard_Close: the one after it may come late, or never
        # (the process can exit first).
        ta, tc, td = r.t("atexit"), r.t("holder-close"), r.t("teardown-del")
        if None in (ta, tc, td):
            bad.append("%s, events missing" % r.status())
            continue
        hp = [e for e in r.all("holder-python") if ta < e[0] < tc]
        dp = [e for e in r.all("daemon-python") if ta < e[0] < tc]
        early_fin = [e for e in hp + dp if e[2].get("fin") != "0"]
        waits.append(tc - ta)
        holder_n.append(len(hp))
        daemon_n.append(len(dp))
        lag.append(td - tc)
        good = (not r.timed_out and r.rc == 0 and len(hp) >= 5 and len(dp) >= 3 and not early_fin
                and td > tc and r.first("teardown-del")[2].get("fin") == "1" and tc - ta > 500)
        if good:
            ok += 1
        else:
            bad.append("%s, holder ran %d, daemon %d, is_finalizing true early %d, teardown %.1f ms after the close"
                       % (r.status(), len(hp), len(dp), len(early_fin), td - tc))
    line = ("(a) %s: main ran atexit, then waited %s ms (GIL released) until the guard was closed; meanwhile the guard "
            "holder ran Python through PyThreadState_Ensure %s times and a daemon %s times, sys.is_finalizing() false "
            "every time; teardown (is_finalizing() true) began %s ms after the close; %s"
            % (label(ok, len(runs)), span(waits, "%.0f"), span(holder_n, "%d"), span(daemon_n, "%d"), span(lag),
               statuses(runs)))
    return line, bad, ok == len(runs)


def obs_bc(runs):
    n = len(runs)
    during, refusal_lag, retake_granted, again, after_close, bad = [], [], 0, 0, 0, []
    wait_ok = c_ok = 0
    efv_null = gil_call = gil_ret = later_refused = 0
    for r in runs:
        pr, tcl = r.first("poller-refused"), r.t("holder-close")
        if pr is None or tcl is None:
            bad.append("%s, events missing" % r.status())
            continue
        d = int(pr[2].get("during_wait", "0"))
        during.append(d)
        if d > 0:
            wait_ok += 1
        last = max(t for t in (tcl, r.t("holder-retake-close")) if t is not None)
        refusal_lag.append(pr[0] - last)
        rt = r.first("holder-retake")
        if rt is not None and rt[3].split()[3] == "granted":
            retake_granted += 1
            ag, td = r.t("atexit-again"), r.t("teardown-del")
            if ag is not None and (td is None or ag < td):
                again += 1
        if int(pr[2].get("after_holder_close", "0")) > 0:
            after_close += 1
        lg = r.first("poller-later-grants")
        if lg is not None and lg[3].split()[3] == "0/5":
            later_refused += 1
        ef = r.first("poller-ensurefromview")
        null = ef is not None and ef[3].split()[3] == "NULL"
        called = r.first("poller-gilstate-ensure-call") is not None
        returned = r.first("poller-gilstate-ensure-returned") is not None
        efv_null += null
        gil_call += called
        gil_ret += returned
        if null and called and not returned and not r.timed_out and r.rc == 0:
            c_ok += 1
    instant = retake_granted == 0 and after_close == 0
    if wait_ok == n and instant:
        lb = "REPRODUCED %d/%d" % (n, n)
    elif wait_ok == n:
        lb = "PARTLY REPRODUCED"
    else:
        lb = "NOT REPRODUCED"
    line_b = ("(b) %s: guards granted during main's wait in %d/%d runs (%s grants each, one every 5 ms); the first refusal "
              "came %s ms after the last close (polling every 5 ms), with is_finalizing() already true; but a guard asked "
              "for at once after the last close was still granted in %d/%d runs, and then main ran atexit again (a "
              "callback registered through that guard ran before teardown) in %d/%d; in %d/%d runs the poller too got "
              "guards after the last close; after the first refusal, 5 more requests: all refused in %d/%d"
              % (lb, wait_ok, n, span(during, "%d"), span(refusal_lag), retake_granted, n, again, retake_granted,
                 after_close, n, later_refused, n))
    line_c = ("(c) %s: after the refusal PyThreadState_EnsureFromView returned NULL in %d/%d runs; PyGILState_Ensure was "
              "called in %d/%d and returned in %d (the thread hangs, 0.5 s allowed); the process "
              "still exited: %s" % (label(c_ok, n), efv_null, n, gil_call, n, gil_ret, statuses(runs)))
    return line_b, line_c, bad, wait_ok == n and instant, c_ok == n


def obs_d(runs, interrupted, watchdog):
    ok = 0
    for r in runs:
        if (r.timed_out and r.first("atexit") and r.first("main-guard") and r.first("teardown-del") is None
                and r.first("finalize-returned") is None):
            ok += 1
    iok = 0
    for r in interrupted:
        if (not r.timed_out and r.rc == 1 and "Interrupted while waiting on finalization guards" in r.stderr
                and r.first("teardown-del") is None):
            iok += 1
    line = ("(d) %s: with a guard main never closes, atexit ran and the process then hung (no teardown, "
            "Py_FinalizeEx never returned; killed by the %.0f s watchdog) in %d/%d runs; SIGINT during that hang: "
            "\"Interrupted while waiting on finalization guards\" and exit status 1 in %d/%d (%s)"
            % (label(ok, len(runs)), watchdog, ok, len(runs), iok, len(interrupted),
               statuses(interrupted)))
    return line, ok == len(runs)


def obs_e(runs15, runs14):
    def count(runs):
        ran = hung = exited = 0
        for r in runs:
            called = r.first("native-ensure-call") is not None and r.first("native-ensure-call")[2].get("fin") == "1"
            if called and r.first("native-ensure-ran") is not None:
                ran += 1
            elif called and r.first("native-ensure-ran") is None:
                hung += 1
            if not r.timed_out and r.rc == 0:
                exited += 1
        return ran, hung, exited
    r15, h15, x15 = count(runs15)
    r14, h14, x14 = count(runs14)
    v15 = runs15[0].first("start")[2].get("python") if runs15 and runs15[0].first("start") else "3.15"
    v14 = runs14[0].first("start")[2].get("python") if runs14 and runs14[0].first("start") else "3.14"
    ok = h15 == len(runs15) and r14 == len(runs14)
    line = ("(e) %s: a native thread's first PyGILState_Ensure during module teardown (is_finalizing() true): on %s it "
            "did not return in %d/%d runs (1.5 s allowed; the process exited 0 in %d/%d), on %s it ran in %d/%d "
            "(exit 0 in %d/%d)"
            % ("REPRODUCED" if ok else "NOT REPRODUCED", v15, h15, len(runs15), x15, len(runs15), v14, r14,
               len(runs14), x14, len(runs14)))
    return line, ok


def statuses(runs):
    c = {}
    for r in runs:
        c[r.status()] = c.get(r.status(), 0) + 1
    return ", ".join("%s ×%d" % (k, v) for k, v in sorted(c.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-runs", "--runs", type=int, default=5, help="runs of each probe (default 5)")
    ap.add_argument("-strict", "--strict", action="store_true", help="exit 1 unless every observation reproduces in full")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the failing runs' event logs")
    args = ap.parse_args()
    if os.geteuid() != 0:
        die("must run as root (chroot)")
    if not os.path.exists(os.path.join(ROOT, ".sfz-complete")):
        die("no finished sid root at %s: run `make conform-env`" % ROOT)
    p315, p314 = build("3.15"), build("3.14")
    shutil.rmtree(os.path.join(HOST, "logs"), ignore_errors=True)  # this invocation's logs only
    n = args.runs
    ra = [run(p315, "3.15", "a", 8) for _ in range(n)]
    rb = [run(p315, "3.15", "b", 8) for _ in range(n)]
    rd = [run(p315, "3.15", "d", D_WATCHDOG) for _ in range(n)]
    rdi = [run(p315, "3.15", "d", 6, sigint_after=1.5) for _ in range(n)]
    re15 = [run(p315, "3.15", "e", 8) for _ in range(n)]
    re14 = [run(p314, "3.14", "e", 8) for _ in range(n)]
    la, bad_a, ok_a = obs_a(ra)
    lb, lc, bad_b, ok_b, ok_c = obs_bc(rb)
    ld, ok_d = obs_d(rd, rdi, D_WATCHDOG)
    le, ok_e = obs_e(re15, re14)
    for line in (la, lb, lc, ld, le):
        print(line)
    if args.verbose:
        for r in ra + rb + rd + rdi + re15 + re14:
            print("\n# %s mode %s: %s\n%s" % (r.version, r.mode, r.status(), r.stderr.rstrip()))
    for b in bad_a + bad_b:
        print("  not as observed: " + b)
    print("event logs: %s/logs" % HOST)
    if args.strict and not (ok_a and ok_b and ok_c and ok_d and ok_e):
        sys.exit(1)


if __name__ == "__main__":
    main()
