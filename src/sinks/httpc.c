/* httpc.c: libcurl POST client with retry classification (see httpc.h). */
#include "sinks/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sinks/deliver.h"

struct httpc {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    int gzip;
    int connect_timeout_ms;
    char reply[256]; /* the start of the last response body, for errors */
    size_t reply_len;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_global(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    httpc *h = ud;
    size_t len = sz * n, room = sizeof(h->reply) - 1 - h->reply_len;
    size_t take = len < room ? len : room;
    memcpy(h->reply + h->reply_len, p, take);
    h->reply_len += take;
    h->reply[h->reply_len] = 0;
    return len;
}

httpc *httpc_new(const char *url, char *err, size_t errlen)
{
    pthread_once(&curl_once, curl_global);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL", url);
        return NULL;
    }
    httpc *h = calloc(1, sizeof(*h));
    if (!h || !(h->url = strdup(url)) || !(h->curl = curl_easy_init())) {
        httpc_free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->connect_timeout_ms = 5000;
    /* no "Expect: 100-continue" round trip before large bodies */
    if (httpc_add_header(h, "Expect:")) {
        httpc_free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "oisp-sensor");
    curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    return h;
}

void httpc_free(httpc *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h);
}

int httpc_add_header(httpc *h, const char *line)
{
    struct curl_slist *n = curl_slist_append(h->headers, line);
    if (!n)
        return -1;
    h->headers = n;
    return 0;
}

int httpc_set_basic_auth(httpc *h, const char *user, const char *password)
{
    curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    if (curl_easy_setopt(h->curl, CURLOPT_USERNAME, user) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_PASSWORD, password) != CURLE_OK)
        return -1;
    return 0;
}

void httpc_set_gzip(httpc *h, int on)
{
    if (on && !h->gzip)
        httpc_add_header(h, "Content-Encoding: gzip");
    h->gzip = h->gzip || on;
}

void httpc_set_connect_timeout(httpc *h, int ms) { h->connect_timeout_ms = ms; }

int httpc_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1 /* fast: the link, not the ratio, is the point */, Z_DEFLATED,
                     15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

static int classify_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return DELIVER_FAIL;
    default: /* connect refused, resolve, timeout, reset, TLS handshake: maybe later */
        return DELIVER_RETRY;
    }
}

static int classify_status(long status)
{
    if (status >= 200 && status < 300)
        return DELIVER_OK;
    if (status == 408 || status == 429 || status >= 500)
        return DELIVER_RETRY;
    return DELIVER_FAIL;
}

int httpc_post(httpc *h, const char *url, const char *body, size_t len, int timeout_ms,
               long *status, char *err, size_t errlen)
{
    char *gz = NULL;
    size_t gzlen = 0;
    *status = 0;
    if (h->gzip) {
        if (httpc_gzip(body, len, &gz, &gzlen)) {
            snprintf(err, errlen, "gzip failed");
            return DELIVER_RETRY;
        }
        body = gz;
        len = gzlen;
    }
    h->reply_len = 0;
    h->reply[0] = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, url ? url : h->url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(h->connect_timeout_ms < timeout_ms ? h->connect_timeout_ms
                                                               : (timeout_ms > 0 ? timeout_ms : 1)));
    CURLcode rc = curl_easy_perform(h->curl);
    free(gz);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return classify_curl(rc);
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    int c = classify_status(*status);
    if (c != DELIVER_OK) {
        for (size_t i = 0; i < h->reply_len; i++) /* one printable line */
            if ((unsigned char)h->reply[i] < 0x20 || (unsigned char)h->reply[i] > 0x7e)
                h->reply[i] = ' ';
        snprintf(err, errlen, "HTTP %ld%s%.120s", *status, h->reply_len ? ": " : "", h->reply);
    }
    return c;
}
