/* fuzz_http_chunked.c: libFuzzer target for chunked transfer decoding (and
 * content decoding behind it) through the HTTP response parser.  The head is
 * fixed: "HTTP/1.1 200 OK", Transfer-Encoding: chunked and the
 * Content-Encoding the second byte picks from FUZZ_CODINGS, so every input
 * byte after the two control bytes is chunk framing or chunk data: sizes,
 * extensions, CRLFs, the last chunk and trailers.  Input: [split seed]
 * [coding] then the chunked body, fed with the default limits. */
#include <stdio.h>

#include "http_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    char head[160];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Transfer-Encoding: chunked\r\nContent-Encoding: %s\r\n\r\n",
                     FUZZ_CODINGS[data[1] % FUZZ_NCODINGS]);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof head);
    /* opts 0: default limits, POST, no gap, closed at the end */
    http_drive_run(HTTP_PARSE_RESPONSE, data[0], 0, (const uint8_t *)head, (size_t)n, data + 2, size - 2);
    return 0;
}
