/* SPDX-License-Identifier: MIT */
/* mkmsgpack: the e2e tests' MessagePack entry writer (no msgpack tool is
 * needed on the test machine). Writes one entry map to stdout:
 *   mkmsgpack [--id ID] [--op NAME] [--not-a-map] SQL [PARAM...]
 * A PARAM is packed as
 *   null          nil
 *   -?[0-9]+      int (int64)
 *   bin:HEX       bin, the bytes spelled in hex ("bin:00ff10")
 *   real:X        float64
 *   str:TEXT      str TEXT (for text that looks like one of the above)
 *   anything else str
 * --not-a-map writes an array [SQL, PARAM...] instead: a valid MessagePack
 * document that is not an entry. */
#include <errno.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
mkmsgpack_str(msgpack_packer *pk, const char *s)
{
	size_t	len = strlen(s);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

static bool
mkmsgpack_is_int(const char *s)
{
	const char	*p = s;

	if (*p == '-')
		p++;
	if (*p == '\0')
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static int
mkmsgpack_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
mkmsgpack_param(msgpack_packer *pk, const char *v)
{
	char		*end, *bytes;
	size_t		 i, n;
	long long	 ll;
	double		 d;

	if (strcmp(v, "null") == 0) {
		msgpack_pack_nil(pk);
	} else if (mkmsgpack_is_int(v)) {
		errno = 0;
		ll = strtoll(v, &end, 10);
		if (errno != 0)
			return -1;
		msgpack_pack_int64(pk, ll);
	} else if (strncmp(v, "bin:", 4) == 0) {
		v += 4;
		n = strlen(v);
		if (n % 2 != 0)
			return -1;
		if ((bytes = malloc(n / 2 + 1)) == NULL)
			return -1;
		for (i = 0; i < n / 2; i++) {
			int hi = mkmsgpack_hexval(v[2 * i]);
			int lo = mkmsgpack_hexval(v[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				free(bytes);
				return -1;
			}
			bytes[i] = (char)(hi << 4 | lo);
		}
		msgpack_pack_bin(pk, n / 2);
		msgpack_pack_bin_body(pk, bytes, n / 2);
		free(bytes);
	} else if (strncmp(v, "real:", 5) == 0) {
		d = strtod(v + 5, &end);
		if (end == v + 5 || *end != '\0')
			return -1;
		msgpack_pack_double(pk, d);
	} else if (strncmp(v, "str:", 4) == 0) {
		mkmsgpack_str(pk, v + 4);
	} else
		mkmsgpack_str(pk, v);
	return 0;
}

static void
mkmsgpack_usage(void)
{
	fprintf(stderr, "usage: mkmsgpack [--id ID] [--op NAME] "
	    "[--not-a-map] SQL [PARAM...]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	const char	*id = NULL, *op = NULL;
	bool		 array = false;
	int		 i, nparams;
	size_t		 nkeys;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc)
			op = argv[++i];
		else if (strcmp(argv[i], "--not-a-map") == 0)
			array = true;
		else
			mkmsgpack_usage();
	}
	if (i >= argc)
		mkmsgpack_usage();
	nparams = argc - i - 1;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (array) {
		msgpack_pack_array(&pk, (size_t)nparams + 1);
		mkmsgpack_str(&pk, argv[i]);
	} else {
		nkeys = 2 + (id != NULL) + (op != NULL);
		msgpack_pack_map(&pk, nkeys);
		mkmsgpack_str(&pk, "sql");
		mkmsgpack_str(&pk, argv[i]);
		if (id != NULL) {
			mkmsgpack_str(&pk, "id");
			mkmsgpack_str(&pk, id);
		}
		if (op != NULL) {
			mkmsgpack_str(&pk, "operation");
			mkmsgpack_str(&pk, op);
		}
		mkmsgpack_str(&pk, "params");
		msgpack_pack_array(&pk, (size_t)nparams);
	}
	for (i++; i < argc; i++)
		if (mkmsgpack_param(&pk, argv[i]) == -1) {
			fprintf(stderr, "mkmsgpack: bad param '%s'\n",
			    argv[i]);
			msgpack_sbuffer_destroy(&sb);
			return 64;
		}
	if (fwrite(sb.data, 1, sb.size, stdout) != sb.size ||
	    fflush(stdout) != 0) {
		perror("mkmsgpack: write");
		msgpack_sbuffer_destroy(&sb);
		return 1;
	}
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
