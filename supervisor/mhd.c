/* SPDX-License-Identifier: MIT */
/* mhd.c: loading libmicrohttpd by its soname (why: mhd.h). The handle is
 * kept until exit: the library's threads-free external-select mode
 * leaves nothing running, and unloading gnutls at exit gains nothing. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/mhd.h"

#ifndef HQ_MHD_SONAME
#error "HQ_MHD_SONAME: the build sets it from the library it found"
#endif

struct hq_mhd	 mhd;
static void	*mhd_handle;

int
mhd_load(char *err, size_t errlen)
{
	void		*h, *sym;
	const char	*what, *so = HQ_MHD_SONAME;

	if (mhd_handle != NULL)
		return 0;
#ifdef HQ_TESTING
	/* Tests cannot uninstall the library: this names another. */
	if ((what = getenv("HQ_TEST_MHD_SONAME")) != NULL && *what != '\0')
		so = what;
#endif
	if ((h = dlopen(so, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		what = dlerror();
		snprintf(err, errlen, "--http needs %s (Debian: libmicrohttpd12): "
		    "%s", so, what != NULL ? what : "not found");
		return -1;
	}
	/* POSIX guarantees a dlsym result converts to a function pointer;
	 * the copy keeps ISO C's object/function pointer rule quiet. */
#define HQ_MHD_LOAD(f)							\
	if ((sym = dlsym(h, #f)) == NULL) {				\
		snprintf(err, errlen, "%s: no symbol %s", so, #f); \
		dlclose(h);						\
		memset(&mhd, 0, sizeof(mhd));				\
		return -1;						\
	}								\
	memcpy(&mhd.f, &sym, sizeof(sym));
	HQ_MHD_FUNCS(HQ_MHD_LOAD)
#undef HQ_MHD_LOAD
	mhd_handle = h;
	return 0;
}
