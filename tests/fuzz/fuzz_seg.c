/* SPDX-License-Identifier: MIT */
/* fuzz_seg: the stats segment validator and the report renderers on an
 * arbitrary image: what hqctl does with a segment it did not write. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/report.h"
#include "common/seg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seg	img;
	struct pbuf		out = { 0 };
	char			msg[256];

	/* The image as found: any size. */
	(void)seg_validate(data, size, msg, sizeof(msg));
	/* A full-size image built from the input (repeated), with a valid
	 * header, so the renderers see hostile counters and states. */
	memset(&img, 0, sizeof(img));
	if (size > 0)
		for (size_t o = 0; o < sizeof(img); o += size)
			memcpy((char *)&img + o, data, size < sizeof(img) - o ?
			    size : sizeof(img) - o);
	img.h.magic = HQ_SEG_MAGIC;
	img.h.version = HQ_SEG_VERSION;
	img.h.header_size = sizeof(img.h);
	img.h.slot_size = sizeof(img.slot[0]);
	img.h.nslots = HQ_SEG_SLOTS;
	img.h.total_size = sizeof(img);
	img.h.root[HQ_SEG_PATH - 1] = '\0';
	img.h.db[HQ_SEG_PATH - 1] = '\0';
	if (seg_validate(&img, sizeof(img), msg, sizeof(msg)) == SEG_OK ||
	    img.h.nworkers <= HQ_SEG_SLOTS) {
		if (img.h.nworkers > HQ_SEG_SLOTS)
			img.h.nworkers = HQ_SEG_SLOTS;
		report_json(&out, &img, NULL, 1795716000000000000ULL);
		report_prometheus(&out, &img, NULL, 1795716000000000000ULL);
		report_table(&out, &img, NULL, 1795716000000000000ULL);
	}
	pbuf_free(&out);
	return 0;
}
