#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal, as a user at a terminal would, and reports what it printed.

Usage: pty-run.py [--rows R --cols C] [--resize R C --after TEXT --send TEXT] [--input TEXT] -- CMD...

The command gets the pty's slave as its stdin, stdout, stderr and controlling terminal (its own session).
--resize changes the window size once TEXT has appeared in the output, then sends --send (with a
newline). --input is typed once the command started printing nothing yet (sent at once). The command's
output goes to stdout; then a last line "exit=N termios=same|changed" to stderr: its exit code and whether
the terminal's settings after it ended are the ones before it started."""
import argparse
import fcntl
import os
import select
import struct
import subprocess
import sys
import termios


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--resize", type=int, nargs=2)
    ap.add_argument("--after")
    ap.add_argument("--send")
    ap.add_argument("--input")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    master, slave = os.openpty()
    set_size(slave, a.rows, a.cols)
    before = termios.tcgetattr(slave)

    def child_setup():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, preexec_fn=child_setup,
                         close_fds=True)
    if a.input is not None:
        os.write(master, a.input.encode())
    out = b""
    resized = a.resize is None
    while True:
        r, _, _ = select.select([master], [], [], 0.5)
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            out += data
            if not resized and a.after.encode() in out:
                set_size(master, a.resize[0], a.resize[1])
                os.write(master, (a.send + "\n").encode())
                resized = True
        elif p.poll() is not None:
            # Exited: take what is left, then stop (a slave still open here is ours).
            r, _, _ = select.select([master], [], [], 0)
            if not r:
                break
    code = p.wait()
    after = termios.tcgetattr(slave)
    sys.stdout.write(out.decode(errors="replace"))
    sys.stdout.flush()
    sys.stderr.write("exit=%d termios=%s\n" % (code, "same" if after == before else "changed"))


main()
