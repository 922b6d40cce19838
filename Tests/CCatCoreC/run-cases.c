/*
 * Runs the data-driven parser cases in Tests/Fixtures/http1-requests.cases
 * (format: see the comment header of that file).
 *
 * Every case is fed three ways and must give the expected verdicts and
 * fields each time:
 *   - whole:  all bytes in one call;
 *   - bytes:  one byte appended per call;
 *   - split:  two pieces, split at every position.
 * The harness keeps one buffer per run, sized exactly to the bytes it holds
 * and moved to a fresh allocation on every append (so ASan catches reads
 * past `len`, and the parser's "buffer may move between calls" path is
 * exercised). After a complete request it drops the consumed bytes from the
 * front, resets the parser and goes on.
 *
 * Usage: run-cases [path/to/http1-requests.cases]
 */
#include "ccatcore.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small string helpers                                                 */
/* ------------------------------------------------------------------ */

typedef struct str {
    char *p;
    size_t n;
} str;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    return p;
}

static str str_copy(const char *p, size_t n) {
    str s = {xmalloc(n + 1), n};
    memcpy(s.p, p, n);
    s.p[n] = 0;
    return s;
}

static bool str_eq(str a, str b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

/* Prints bytes with the case-file escapes, so diffs read like the file. */
static void print_escaped(FILE *f, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            fputs("\\r", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\\')
            fputs("\\\\", f);
        else if (c == 0)
            fputs("\\0", f);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02X", c);
        else
            fputc(c, f);
    }
}

static int hexdig(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes \r \n \t \0 \\ \xHH. Returns false on a bad escape. */
static bool unescape(const char *s, size_t n, str *out) {
    char *o = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            o[k++] = s[i];
            continue;
        }
        if (++i >= n) goto bad;
        switch (s[i]) {
        case 'r': o[k++] = '\r'; break;
        case 'n': o[k++] = '\n'; break;
        case 't': o[k++] = '\t'; break;
        case '0': o[k++] = 0; break;
        case '\\': o[k++] = '\\'; break;
        case 'x': {
            int h = i + 1 < n ? hexdig(s[i + 1]) : -1, l = i + 2 < n ? hexdig(s[i + 2]) : -1;
            if (h < 0 || l < 0) goto bad;
            o[k++] = (char)(h * 16 + l);
            i += 2;
            break;
        }
        default: goto bad;
        }
    }
    o[k] = 0;
    *out = (str){o, k};
    return true;
bad:
    free(o);
    return false;
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */
/* ------------------------------------------------------------------ */

enum { OUT_REQUEST = 1, OUT_ERROR, OUT_INCOMPLETE };
enum {
    F_METHOD,
    F_METHOD_ID,
    F_TARGET,
    F_PATH,
    F_QUERY,
    F_VERSION,
    F_KEEP_ALIVE,
    F_CHUNKED,
    F_EXPECT_CONTINUE,
    F_BODY,
    F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "method", "method-id", "target", "path", "query", "version", "keep-alive", "chunked", "expect-continue", "body"};

#define MAX_HDRS 160

/* One outcome: an expected one (fields only where given) or an observed one. */
typedef struct outcome {
    int kind;
    int status; /* OUT_ERROR */
    bool has[F_COUNT];
    str f[F_COUNT];
    int nh; /* -1: headers not checked */
    str hname[MAX_HDRS], hvalue[MAX_HDRS];
} outcome;

#define MAX_OUT 64

typedef struct tcase {
    str name;
    int line;
    str raw;
    cc_limits limits;
    int nout;
    outcome out[MAX_OUT];
} tcase;

static const char *method_id_name(cc_method m) {
    static const char *const n[] = {"OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    return (unsigned)m < sizeof n / sizeof n[0] ? n[m] : "?";
}

static void outcome_free(outcome *o) {
    for (int i = 0; i < F_COUNT; i++)
        if (o->has[i]) free(o->f[i].p);
    for (int i = 0; i < o->nh; i++) {
        free(o->hname[i].p);
        free(o->hvalue[i].p);
    }
    memset(o, 0, sizeof *o);
}

static int field_index(const char *key, size_t n) {
    for (int i = 0; i < F_COUNT; i++)
        if (strlen(field_names[i]) == n && memcmp(field_names[i], key, n) == 0) return i;
    return -1;
}

static int load_cases(const char *path, tcase **out_cases) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = xmalloc((size_t)sz + 1);
    if (fread(text, 1, (size_t)sz, f) != (size_t)sz) {
        perror("read");
        exit(2);
    }
    text[sz] = 0;
    fclose(f);

    int cap = 64, n = 0, lineno = 0;
    tcase *cases = calloc((size_t)cap, sizeof *cases);
    tcase *cur = NULL;
    char *line = text;
    bool ok = true;
#define PARSE_ERR(...)                                                                                                 \
    do {                                                                                                               \
        fprintf(stderr, "%s:%d: ", path, lineno);                                                                      \
        fprintf(stderr, __VA_ARGS__);                                                                                  \
        fputc('\n', stderr);                                                                                           \
        ok = false;                                                                                                    \
    } while (0)
    while (*line) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *next = nl ? nl + 1 : line + len;
        lineno++;
        if (len && line[len - 1] == '\r') len--; /* tolerate a CRLF checkout */
        if (len == 0 || line[0] == '#') {
            line = next;
            continue;
        }
        if (len >= 4 && memcmp(line, "=== ", 4) == 0) {
            if (n == cap) {
                cap *= 2;
                cases = realloc(cases, (size_t)cap * sizeof *cases);
                memset(cases + n, 0, (size_t)(cap - n) * sizeof *cases);
            }
            cur = &cases[n++];
            cur->name = str_copy(line + 4, len - 4);
            cur->line = lineno;
            cur->raw = str_copy("", 0);
            cur->limits = (cc_limits){8192, 64, 1048576};
            line = next;
            continue;
        }
        const char *colon = memchr(line, ':', len);
        if (!cur || !colon) {
            PARSE_ERR("expected \"=== name\" or \"key: value\"");
            line = next;
            continue;
        }
        size_t kl = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vl = len - kl - 1;
        if (vl && *v == ' ') {
            v++;
            vl--;
        }
        outcome *last = cur->nout ? &cur->out[cur->nout - 1] : NULL;
        if (kl == 3 && memcmp(line, "raw", 3) == 0) {
            str u;
            if (!unescape(v, vl, &u))
                PARSE_ERR("bad escape in raw:");
            else {
                char *p = xmalloc(cur->raw.n + u.n + 1);
                memcpy(p, cur->raw.p, cur->raw.n);
                memcpy(p + cur->raw.n, u.p, u.n);
                free(cur->raw.p);
                free(u.p);
                cur->raw.p = p;
                cur->raw.n += u.n;
            }
        } else if (kl == 6 && memcmp(line, "limits", 6) == 0) {
            str tmp = str_copy(v, vl);
            for (char *tok = strtok(tmp.p, " "); tok; tok = strtok(NULL, " ")) {
                unsigned long x;
                if (sscanf(tok, "max_header_bytes=%lu", &x) == 1)
                    cur->limits.max_header_bytes = (uint32_t)x;
                else if (sscanf(tok, "max_headers=%lu", &x) == 1)
                    cur->limits.max_headers = (uint32_t)x;
                else if (sscanf(tok, "max_body_bytes=%lu", &x) == 1)
                    cur->limits.max_body_bytes = (uint32_t)x;
                else
                    PARSE_ERR("unknown limit \"%s\"", tok);
            }
            free(tmp.p);
        } else if (kl == 6 && memcmp(line, "expect", 6) == 0) {
            if (cur->nout == MAX_OUT) {
                PARSE_ERR("too many expectations");
            } else {
                outcome *o = &cur->out[cur->nout++];
                memset(o, 0, sizeof *o);
                o->nh = -1;
                if (vl == 7 && memcmp(v, "request", 7) == 0)
                    o->kind = OUT_REQUEST;
                else if (vl == 10 && memcmp(v, "incomplete", 10) == 0)
                    o->kind = OUT_INCOMPLETE;
                else if (vl > 6 && memcmp(v, "error ", 6) == 0 && atoi(v + 6) >= 400) {
                    o->kind = OUT_ERROR;
                    o->status = atoi(v + 6);
                } else
                    PARSE_ERR("expect: request | error NNN | incomplete");
            }
        } else if (kl == 6 && memcmp(line, "header", 6) == 0) {
            const char *sep = NULL;
            for (size_t i = 0; i + 1 < vl; i++)
                if (v[i] == ':' && v[i + 1] == ' ') {
                    sep = v + i;
                    break;
                }
            if (!last || last->kind != OUT_REQUEST)
                PARSE_ERR("header: outside an expect: request block");
            else if (!sep && !(vl && v[vl - 1] == ':'))
                PARSE_ERR("header: wants \"Name: value\"");
            else if (last->nh >= MAX_HDRS)
                PARSE_ERR("too many header: lines");
            else {
                if (!sep) sep = v + vl - 1;
                if (last->nh < 0) last->nh = 0;
                str nm, val;
                const char *vs = sep + 2 <= v + vl ? sep + 2 : v + vl;
                if (!unescape(v, (size_t)(sep - v), &nm) || !unescape(vs, (size_t)(v + vl - vs), &val))
                    PARSE_ERR("bad escape in header:");
                else {
                    last->hname[last->nh] = nm;
                    last->hvalue[last->nh] = val;
                    last->nh++;
                }
            }
        } else {
            int fi = field_index(line, kl);
            if (fi < 0)
                PARSE_ERR("unknown key \"%.*s\"", (int)kl, line);
            else if (!last || last->kind != OUT_REQUEST)
                PARSE_ERR("%s: outside an expect: request block", field_names[fi]);
            else if (last->has[fi])
                PARSE_ERR("%s: given twice", field_names[fi]);
            else {
                str u;
                if (!unescape(v, vl, &u))
                    PARSE_ERR("bad escape");
                else {
                    last->has[fi] = true;
                    last->f[fi] = u;
                }
            }
        }
        line = next;
    }
    for (int i = 0; i < n; i++) {
        lineno = cases[i].line;
        if (cases[i].nout == 0) PARSE_ERR("case \"%s\" has no expect:", cases[i].name.p);
        if (cases[i].raw.n == 0) PARSE_ERR("case \"%s\" has no raw:", cases[i].name.p);
        for (int k = 0; k < cases[i].nout; k++)
            if (cases[i].out[k].kind != OUT_REQUEST && k != cases[i].nout - 1)
                PARSE_ERR("case \"%s\": error/incomplete must be the last expectation", cases[i].name.p);
    }
    free(text);
    if (!ok) exit(2);
    *out_cases = cases;
    return n;
}

/* ------------------------------------------------------------------ */
/* Running                                                              */
/* ------------------------------------------------------------------ */

typedef struct run {
    int nout;
    outcome out[MAX_OUT];
    bool overflow;
} run;

static str num(unsigned v) {
    char b[16];
    int k = snprintf(b, sizeof b, "%u", v);
    return str_copy(b, (size_t)k);
}

static void snapshot(const cc_request *r, outcome *o) {
    memset(o, 0, sizeof *o);
    o->kind = OUT_REQUEST;
    for (int i = 0; i < F_COUNT; i++) o->has[i] = true;
    o->f[F_METHOD] = str_copy(r->method_text.at, r->method_text.len);
    o->f[F_METHOD_ID] = str_copy(method_id_name(r->method), strlen(method_id_name(r->method)));
    o->f[F_TARGET] = str_copy(r->target.at, r->target.len);
    o->f[F_PATH] = str_copy(r->path.at, r->path.len);
    o->f[F_QUERY] = str_copy(r->query.at, r->query.len);
    o->f[F_VERSION] = num(r->version_minor);
    o->f[F_KEEP_ALIVE] = num(r->keep_alive);
    o->f[F_CHUNKED] = num(r->chunked);
    o->f[F_EXPECT_CONTINUE] = num(r->expect_continue);
    o->f[F_BODY] = str_copy(r->body.at, r->body.len);
    o->nh = (int)r->num_headers;
    for (uint32_t i = 0; i < r->num_headers && i < MAX_HDRS; i++) {
        o->hname[i] = str_copy(r->headers[i].name.at, r->headers[i].name.len);
        o->hvalue[i] = str_copy(r->headers[i].value.at, r->headers[i].value.len);
    }
}

/* The harness's buffer: always exactly as large as its contents. */
typedef struct hbuf {
    char *p;
    size_t n;
} hbuf;

static void hbuf_set(hbuf *b, const char *a, size_t an, const char *c, size_t cn) {
    char *p = xmalloc(an + cn);
    if (an) memcpy(p, a, an);
    if (cn) memcpy(p + an, c, cn);
    free(b->p);
    b->p = p;
    b->n = an + cn;
}

/* Feeds raw in pieces (piece sizes from `cuts`, last piece = the rest). */
static void feed(const tcase *tc, const size_t *cuts, int ncuts, run *out, long *calls) {
    cc_parser p;
    cc_parser_init(&p, tc->limits);
    cc_request *req = xmalloc(sizeof *req);
    hbuf b = {NULL, 0};
    memset(out, 0, sizeof *out);
    size_t off = 0;
    bool stopped = false, mid_request = false;
    for (int piece = 0; piece <= ncuts && !stopped; piece++) {
        size_t end = piece < ncuts ? cuts[piece] : tc->raw.n;
        if (end <= off) continue;
        hbuf_set(&b, b.p, b.n, tc->raw.p + off, end - off);
        off = end;
        while (b.n > 0) {
            (*calls)++;
            int64_t r = cc_parse_request(&p, b.p, b.n, req);
            if (r == 0) {
                mid_request = true;
                break;
            }
            if (out->nout == MAX_OUT) {
                out->overflow = true;
                stopped = true;
                break;
            }
            if (r < 0) {
                out->out[out->nout].kind = OUT_ERROR;
                out->out[out->nout].status = (int)-r;
                out->out[out->nout].nh = 0;
                out->nout++;
                stopped = true;
                break;
            }
            if ((size_t)r > b.n) {
                fprintf(stderr, "parser consumed %lld of %zu bytes\n", (long long)r, b.n);
                exit(1);
            }
            snapshot(req, &out->out[out->nout++]);
            hbuf_set(&b, b.p + r, b.n - (size_t)r, NULL, 0);
            cc_parser_reset(&p);
            mid_request = false;
        }
    }
    if (!stopped && (b.n > 0 || mid_request) && out->nout < MAX_OUT) {
        out->out[out->nout].kind = OUT_INCOMPLETE;
        out->out[out->nout].nh = 0;
        out->nout++;
    }
    free(b.p);
    free(req);
}

static void run_free(run *r) {
    for (int i = 0; i < r->nout; i++) outcome_free(&r->out[i]);
    r->nout = 0;
}

static void describe(FILE *f, const outcome *o) {
    if (!o)
        fputs("(nothing)", f);
    else if (o->kind == OUT_REQUEST)
        fputs("request", f);
    else if (o->kind == OUT_ERROR)
        fprintf(f, "error %d", o->status);
    else
        fputs("incomplete", f);
}

/* Compares a run with the expectations; prints a diff and returns the number
 * of checks done, or -1 on a mismatch. */
static long compare(const tcase *tc, const run *got, const char *mode, bool quiet) {
    long checks = 0;
    int n = tc->nout > got->nout ? tc->nout : got->nout;
    for (int i = 0; i < n; i++) {
        const outcome *e = i < tc->nout ? &tc->out[i] : NULL;
        const outcome *g = i < got->nout ? &got->out[i] : NULL;
        checks++;
        if (!e || !g || e->kind != g->kind || (e->kind == OUT_ERROR && e->status != g->status)) {
            if (!quiet) {
                fprintf(stderr, "FAIL [%s] line %d \"%s\" (%s): outcome #%d: expected ", mode, tc->line, tc->name.p,
                        mode, i + 1);
                describe(stderr, e);
                fputs(", got ", stderr);
                describe(stderr, g);
                fputc('\n', stderr);
            }
            return -1;
        }
        if (e->kind != OUT_REQUEST) continue;
        for (int k = 0; k < F_COUNT; k++) {
            if (!e->has[k]) continue;
            checks++;
            if (!str_eq(e->f[k], g->f[k])) {
                if (!quiet) {
                    fprintf(stderr, "FAIL [%s] line %d \"%s\": request #%d %s:\n  expected: ", mode, tc->line,
                            tc->name.p, i + 1, field_names[k]);
                    print_escaped(stderr, e->f[k].p, e->f[k].n);
                    fputs("\n  got:      ", stderr);
                    print_escaped(stderr, g->f[k].p, g->f[k].n);
                    fputc('\n', stderr);
                }
                return -1;
            }
        }
        if (e->nh >= 0) {
            checks++;
            bool same = e->nh == g->nh;
            for (int k = 0; same && k < e->nh; k++)
                same = str_eq(e->hname[k], g->hname[k]) && str_eq(e->hvalue[k], g->hvalue[k]);
            if (!same) {
                if (!quiet) {
                    fprintf(stderr, "FAIL [%s] line %d \"%s\": request #%d headers differ\n  expected:\n", mode,
                            tc->line, tc->name.p, i + 1);
                    for (int k = 0; k < e->nh; k++) {
                        fputs("    ", stderr);
                        print_escaped(stderr, e->hname[k].p, e->hname[k].n);
                        fputs(": ", stderr);
                        print_escaped(stderr, e->hvalue[k].p, e->hvalue[k].n);
                        fputc('\n', stderr);
                    }
                    fputs("  got:\n", stderr);
                    for (int k = 0; k < g->nh; k++) {
                        fputs("    ", stderr);
                        print_escaped(stderr, g->hname[k].p, g->hname[k].n);
                        fputs(": ", stderr);
                        print_escaped(stderr, g->hvalue[k].p, g->hvalue[k].n);
                        fputc('\n', stderr);
                    }
                }
                return -1;
            }
        }
    }
    return checks;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "Tests/Fixtures/http1-requests.cases";
    tcase *cases;
    int n = load_cases(path, &cases);
    long checks = 0, runs = 0, calls = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        tcase *tc = &cases[i];
        bool case_failed = false;
        run r;

        feed(tc, NULL, 0, &r, &calls);
        runs++;
        long c = compare(tc, &r, "whole", false);
        run_free(&r);
        if (c < 0)
            case_failed = true;
        else
            checks += c;

        size_t *cuts = xmalloc(tc->raw.n * sizeof *cuts);
        for (size_t k = 0; k < tc->raw.n; k++) cuts[k] = k + 1;
        feed(tc, cuts, (int)tc->raw.n, &r, &calls);
        runs++;
        c = compare(tc, &r, "byte by byte", false);
        run_free(&r);
        if (c < 0)
            case_failed = true;
        else
            checks += c;

        for (size_t k = 1; k < tc->raw.n; k++) {
            size_t cut = k;
            feed(tc, &cut, 1, &r, &calls);
            runs++;
            char mode[64];
            snprintf(mode, sizeof mode, "split at %zu", k);
            c = compare(tc, &r, mode, false);
            run_free(&r);
            if (c < 0) {
                case_failed = true;
                break; /* one diff per case is enough */
            }
            checks += c;
        }
        free(cuts);
        if (case_failed) failed++;
    }
    printf("run-cases: %d cases, %ld runs (whole, byte by byte, every split), %ld parser calls, %ld checks\n", n, runs,
           calls, checks);
    printf("%d passed, %d failed\n", n - failed, failed);
    for (int i = 0; i < n; i++) {
        free(cases[i].name.p);
        free(cases[i].raw.p);
        for (int k = 0; k < cases[i].nout; k++) outcome_free(&cases[i].out[k]);
    }
    free(cases);
    return failed ? 1 : 0;
}
