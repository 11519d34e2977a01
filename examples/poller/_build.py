"""Builds poller.c for the running interpreter (once; again when poller.c
changes) into build/, and loads it. The extension's name carries the
interpreter's EXT_SUFFIX, so every release keeps its own build side by side."""
import importlib.util
import os
import subprocess
import sys
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load():
    src = os.path.join(HERE, "poller.c")
    out = os.path.join(HERE, "build")
    so = os.path.join(out, "_poller" + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        os.makedirs(out, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".build-", suffix=".so")
        os.close(fd)
        try:
            cmd = [os.environ.get("CC", "cc"), "-O2", "-g", "-fPIC", "-shared", "-pthread",
                   "-I" + sysconfig.get_paths()["include"], src, "-o", tmp]
            subprocess.run(cmd, check=True)
            os.replace(tmp, so)  # atomic: a concurrent build or run sees one or the other
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    spec = importlib.util.spec_from_file_location("_poller", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
