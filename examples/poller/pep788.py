# The poller on CPython 3.15's PEP 788 API: each thread takes the GIL with
# PyThreadState_EnsureFromView on a view of the interpreter; once
# finalization has begun the call is refused and the thread stops.
import sys
import time

import _build

if sys.version_info < (3, 15):
    sys.exit("pep788.py needs CPython 3.15 (PEP 788)")
poller = _build.load()
poller.start(4, "view")
time.sleep(0.02)
print("main done")
