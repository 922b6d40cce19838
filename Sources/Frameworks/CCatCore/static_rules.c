/*
 * The static server's rules that need no server (static.c serves with
 * them): the request path checked and decoded, a Range header against a
 * file's size (RFC 9110 §14), an HTTP-date (§5.6.7). Pure functions over
 * bytes, so the fuzzer takes them alone. No allocation.
 */
#define _GNU_SOURCE
#include "ccatcore.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* The path                                                             */
/* ------------------------------------------------------------------ */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int cc_static_path(const char *in, size_t n, char *out, size_t cap) {
    size_t len = 0, seg = 0; /* seg: where the current segment starts in out */
    for (size_t i = 0;; i++) {
        bool end = i == n;
        char ch = end ? '/' : in[i];
        if (ch == '?' || ch == '#') return CC_STATIC_REFUSED; /* the router gives a path, never these */
        if (ch == '/') {
            size_t sl = len - seg;
            /* An empty segment (a leading '/': an absolute path; "//"; a
             * trailing '/'), "." or "..": refused, not resolved. */
            if (sl == 0) return CC_STATIC_REFUSED;
            if (out[seg] == '.' && (sl == 1 || (sl == 2 && out[seg + 1] == '.'))) return CC_STATIC_REFUSED;
            if (end) break;
            if (len + 1 >= cap) return CC_STATIC_REFUSED;
            out[len++] = '/';
            seg = len;
            continue;
        }
        if (ch == '%') {
            if (i + 2 >= n) return CC_STATIC_MALFORMED;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0) return CC_STATIC_MALFORMED;
            ch = (char)(hi * 16 + lo);
            i += 2;
            /* An encoded separator would smuggle a segment past the checks. */
            if (ch == '/' || ch == '\\') return CC_STATIC_REFUSED;
            if (ch == '\0') return CC_STATIC_MALFORMED;
        } else if (ch == '\\' || ch == '\0') {
            return ch == '\0' ? CC_STATIC_MALFORMED : CC_STATIC_REFUSED;
        }
        if (len + 1 >= cap) return CC_STATIC_REFUSED;
        out[len++] = ch;
    }
    out[len] = '\0';
    return (int)len;
}

/* ------------------------------------------------------------------ */
/* HTTP-dates                                                           */
/* ------------------------------------------------------------------ */

static int month_index(const char *s) {
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (memcmp(s, months[i], 3) == 0) return i;
    return -1;
}

static bool digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "HH:MM:SS" at s. */
static bool clock_at(const char *s, struct tm *tm) {
    return s[2] == ':' && s[5] == ':' && digits(s, 2, &tm->tm_hour) && digits(s + 3, 2, &tm->tm_min) &&
           digits(s + 6, 2, &tm->tm_sec) && tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 61;
}

/* RFC 9110 §5.6.7: recipients accept IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
 * GMT") and the two obsolete forms, RFC 850 ("Sunday, 06-Nov-94 08:49:37
 * GMT", a two-digit year taken as 19xx/20xx by the 50-year rule) and asctime
 * ("Sun Nov  6 08:49:37 1994"). */
int cc_static_parse_date(const char *s, size_t n, int64_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *comma = memchr(s, ',', n);
    if (comma && (size_t)(comma - s) == 3) {
        if (n != 29 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || memcmp(s + 25, " GMT", 4) != 0)
            return -1;
        if (!digits(s + 5, 2, &tm.tm_mday) || (tm.tm_mon = month_index(s + 8)) < 0 || !digits(s + 12, 4, &tm.tm_year) ||
            !clock_at(s + 17, &tm))
            return -1;
        tm.tm_year -= 1900;
    } else if (comma) {
        const char *d = comma + 2;
        size_t rest = n - (size_t)(d - s);
        if (comma[1] != ' ' || rest != 22 || d[2] != '-' || d[6] != '-' || d[9] != ' ' ||
            memcmp(d + 18, " GMT", 4) != 0)
            return -1;
        int yy;
        if (!digits(d, 2, &tm.tm_mday) || (tm.tm_mon = month_index(d + 3)) < 0 || !digits(d + 7, 2, &yy) ||
            !clock_at(d + 10, &tm))
            return -1;
        tm.tm_year = yy < 70 ? yy + 100 : yy; /* RFC 9110: more than 50 years ahead is the past century */
    } else {
        if (n != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ') return -1;
        char day[2] = {s[8] == ' ' ? '0' : s[8], s[9]};
        if ((tm.tm_mon = month_index(s + 4)) < 0 || !digits(day, 2, &tm.tm_mday) || !clock_at(s + 11, &tm) ||
            !digits(s + 20, 4, &tm.tm_year))
            return -1;
        tm.tm_year -= 1900;
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31) return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = (int64_t)t;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Ranges                                                               */
/* ------------------------------------------------------------------ */

static bool parse_u64(const char *s, const char *end, uint64_t *out) {
    if (s == end) return false;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9') return false;
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

int cc_static_range(const char *s, size_t n, uint64_t size, uint64_t *first, uint64_t *last) {
    if (n < 6 || strncasecmp(s, "bytes=", 6) != 0) return CC_RANGE_IGNORE; /* another unit */
    const char *p = s + 6, *end = s + n;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (memchr(p, ',', (size_t)(end - p))) return CC_RANGE_IGNORE; /* several ranges: the whole file instead */
    const char *dash = memchr(p, '-', (size_t)(end - p));
    if (!dash) return CC_RANGE_IGNORE;
    uint64_t a, b;
    if (dash == p) { /* suffix-range: the last b bytes */
        if (!parse_u64(dash + 1, end, &b)) return CC_RANGE_IGNORE;
        if (b == 0 || size == 0) return CC_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return CC_RANGE_OK;
    }
    if (!parse_u64(p, dash, &a)) return CC_RANGE_IGNORE;
    if (dash + 1 == end) {
        b = UINT64_MAX;
    } else if (!parse_u64(dash + 1, end, &b) || b < a) {
        return CC_RANGE_IGNORE; /* invalid: ignored, RFC 9110 §14.1.1 */
    }
    if (a >= size) return CC_RANGE_UNSATISFIABLE;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return CC_RANGE_OK;
}
