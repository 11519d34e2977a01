# The poller done right: main stops and joins the 4 threads before it
# returns, so no thread takes the GIL once finalization has begun. It must
# stay clean with any delays.
import time

import _build

poller = _build.load()
poller.start(4)
time.sleep(0.02)
poller.stop()
print("main done")
