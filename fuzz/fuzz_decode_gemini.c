/* fuzz_decode_gemini.c: libFuzzer target for the gemini decoder(s) in
 * src/decode/ through decode_request() and decode_response(): a request
 * body to one of FUZZ_GEMINI_APIS (fuzz.h) and a response of any status and
 * content type.  Input: [path][resp][flags] request FUZZ_SEP response
 * (see decode_driver.h). */
#include "decode_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_drive(FUZZ_GEMINI_APIS, FUZZ_NAPIS(FUZZ_GEMINI_APIS), data, size);
    return 0;
}
