/* The embedding host of `shutdownfuzz chaos`: python, as a program linked to
 * libpython (python3.X-config --embed), so that an extension's calls into the
 * C API go through the dynamic linker and LD_PRELOAD can wrap them (Debian's
 * own python3.X binaries are statically linked). sfz_host_event is the delay
 * shim's (sfz_shim.c); without the shim the weak reference is NULL. */
#include <Python.h>
void sfz_host_event(int event, int status) __attribute__((weak));
int main(int argc, char **argv)
{
	if (sfz_host_event)
		sfz_host_event(0, 0); /* the interpreter starts */
	int status = Py_BytesMain(argc, argv);
	if (sfz_host_event)
		sfz_host_event(1, status); /* Py_FinalizeEx returned */
	return status;
}
