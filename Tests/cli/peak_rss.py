"""Runs a command and prints its peak resident set size in KB (wait4's ru_maxrss).

Run this as a fresh, small process: on Linux a child's ru_maxrss starts from its parent's
resident size at fork time (it survives exec), so measuring straight from a large test
process would report the test's own memory. This helper stays near 10 MB, below anything
it measures, and imports nothing but os and sys."""
import os
import sys

pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.exit(f"{sys.argv[1:]} exited with {code}")
print(usage.ru_maxrss)
