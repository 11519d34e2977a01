# The gRPC-style poller at exit: 4 native threads take the GIL with
# PyGILState_Ensure in a loop while main returns after 20 ms.
import time

import _build

poller = _build.load()
poller.start(4)
time.sleep(0.02)
print("main done")
