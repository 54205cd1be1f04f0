/* fuzz_http_request.c: libFuzzer target for the request side of the HTTP/1.1
 * parser (src/stream/http.c): what a traced process writes.  Input:
 * [split seed][opts] then the stream (see http_driver.h). */
#include "http_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    http_drive_run(HTTP_PARSE_REQUEST, data[0], data[1], NULL, 0, data + 2, size - 2);
    return 0;
}
