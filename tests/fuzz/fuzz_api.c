/*
 * fuzz_api.c - libFuzzer target for toud's API request-line parser.
 * The parser (daemon/api_parse.c) is self-contained and included here, so
 * this target needs only the include directories daemon/ and client/.
 * Checks: no crash, no read past the input, and every accepted request is
 * consistent (ports in range, host NUL-terminated and non-empty).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_parse.c"
#include "tou_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > TOU_PROTO_MAX_LINE)
		size = TOU_PROTO_MAX_LINE;
	/* an exact-size heap copy so ASan sees any overread */
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	struct api_request r;
	char err[256];
	int rc = api_parse_line(line, size, &r, err, sizeof err);
	if (rc == 0) {
		if (r.verb < API_CONNECT || r.verb > API_VERB_LAST)
			abort();
		if ((r.verb == API_CONNECT || r.verb == API_LISTEN || r.verb == API_ACCEPT || r.verb == API_FORWARD ||
		     r.verb == API_SERVE) && r.port == 0)
			abort();
		if (r.verb == API_CONNECT && (r.host[0] == '\0' || strlen(r.host) > API_HOST_MAX))
			abort();
		if (r.has_timeout && (r.timeout_s == 0 || r.timeout_s > API_TIMEOUT_MAX))
			abort();
		if ((r.verb == API_ABORT) && !r.has_id)
			abort();
	} else if (rc != -1 || strlen(err) == 0) {
		abort();
	}
	free(line);
	return 0;
}
