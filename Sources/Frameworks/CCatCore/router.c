/*
 * Radix-tree router with typed path parameters.
 *
 * Literal text is stored in a compressed prefix tree (edges split at any
 * byte, children keyed by their first byte), so "/users/me" and "/user-groups"
 * share the node "/user". A parameter always spans a whole segment, so it
 * hangs off a node whose literal ends in '/' in one of three slots:
 * {x:int}, {x} and {x:path}. Matching walks the tree trying literal, then
 * int, then string, then path children, and backtracks when a branch dead-ends
 * ("/users/me/posts" with routes "/users/me" and "/users/{name}/posts" takes
 * the literal branch, fails, and comes back for {name}). Every node is reached
 * by exactly one route through the tree, and the position in the path at
 * which it is tried is fixed, so a match visits each node at most once:
 * O(size of the tree) worst case, O(path) typically, and no allocation.
 *
 * Conflict rules (checked before anything is inserted, so a failed add leaves
 * the router unchanged):
 *   - the same method and pattern twice -> error;
 *   - two parameters of the same type at the same position must share a name
 *     ("/u/{id:int}" vs "/u/{uid:int}"), because a route's handler reads
 *     parameters by name and the tree has one node for both;
 *   - the same name at the same position with two types ("/u/{id}" vs
 *     "/u/{id:int}") is almost certainly a mistake -> error. Different names
 *     with different types are distinct routes ("/u/{id:int}" + "/u/{name}")
 *     resolved by precedence.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { N_STATIC = 0, N_INT, N_STR, N_PATH } nkind;

typedef struct rnode {
    nkind kind;
    const char *label; /* N_STATIC: literal bytes (into a pattern copy) */
    uint32_t label_len;
    cc_slice pname;      /* parameters: name (into a pattern copy) */
    const char *origin;  /* parameters: pattern that introduced the node */
    struct rnode **kids; /* N_STATIC children, distinct first bytes */
    uint32_t nkids, capkids;
    struct rnode *int_kid, *str_kid, *path_kid;
    uint32_t methods; /* bit per routed method */
    int32_t handlers[CC_METHOD_COUNT];
    const char *patterns[CC_METHOD_COUNT]; /* for duplicate messages */
} rnode;

struct cc_router {
    rnode *root;
    char **copies;
    size_t ncopies, capcopies;
};

/* ------------------------------------------------------------------ */
/* Nodes                                                                */
/* ------------------------------------------------------------------ */

static rnode *node_new(nkind kind) {
    rnode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    for (int i = 0; i < CC_METHOD_COUNT; i++) n->handlers[i] = -1;
    return n;
}

static void node_free(rnode *n) {
    if (!n) return;
    for (uint32_t i = 0; i < n->nkids; i++) node_free(n->kids[i]);
    free(n->kids);
    node_free(n->int_kid);
    node_free(n->str_kid);
    node_free(n->path_kid);
    free(n);
}

static rnode *find_kid(const rnode *n, char first) {
    for (uint32_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->label[0] == first) return n->kids[i];
    return NULL;
}

static int add_kid(rnode *n, rnode *kid) {
    if (n->nkids == n->capkids) {
        uint32_t cap = n->capkids ? n->capkids * 2 : 4;
        rnode **k = realloc(n->kids, cap * sizeof *k);
        if (!k) return -1;
        n->kids = k;
        n->capkids = cap;
    }
    n->kids[n->nkids++] = kid;
    return 0;
}

/* Splits static node n after l label bytes; n keeps its place in its parent. */
static int split(rnode *n, uint32_t l) {
    rnode *d = node_new(N_STATIC);
    rnode **kids = malloc(4 * sizeof *kids);
    if (!d || !kids) {
        free(d);
        free(kids);
        return -1;
    }
    *d = *n;
    d->label = n->label + l;
    d->label_len = n->label_len - l;
    n->label_len = l;
    n->kids = kids;
    n->kids[0] = d;
    n->nkids = 1;
    n->capkids = 4;
    n->int_kid = n->str_kid = n->path_kid = NULL;
    n->methods = 0;
    for (int i = 0; i < CC_METHOD_COUNT; i++) {
        n->handlers[i] = -1;
        n->patterns[i] = NULL;
    }
    return 0;
}

cc_router *cc_router_create(void) {
    cc_router *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->root = node_new(N_STATIC); /* empty label: the root */
    if (!r->root) {
        free(r);
        return NULL;
    }
    return r;
}

void cc_router_destroy(cc_router *r) {
    if (!r) return;
    node_free(r->root);
    for (size_t i = 0; i < r->ncopies; i++) free(r->copies[i]);
    free(r->copies);
    free(r);
}

/* ------------------------------------------------------------------ */
/* Patterns                                                             */
/* ------------------------------------------------------------------ */

typedef struct token {
    nkind kind;    /* N_STATIC: literal text; else a parameter */
    const char *s; /* literal text, or the whole "{...}" */
    size_t n;
    cc_slice name;
} token;

#define MAX_TOKENS (2 * CC_MAX_PARAMS + 2)

#define ERR(...)                                                                                                       \
    do {                                                                                                               \
        if (err && err_len) snprintf(err, err_len, __VA_ARGS__);                                                       \
    } while (0)

static const char *type_suffix(nkind k) { return k == N_INT ? ":int" : k == N_PATH ? ":path" : ""; }

/* Splits a pattern into literal runs and parameters, validating it. */
static int tokenize(const char *pat, token *toks, size_t *ntoks, char *err, size_t err_len) {
    size_t n = strlen(pat), nt = 0, nparams = 0;
    if (n == 0 || pat[0] != '/') {
        ERR("invalid route pattern \"%s\": it must start with '/'", pat);
        return -1;
    }
    size_t i = 0;
    while (i < n) {
        if (pat[i] == '}') {
            ERR("invalid route pattern \"%s\": unbalanced '}'", pat);
            return -1;
        }
        if (pat[i] != '{') {
            size_t s = i;
            while (i < n && pat[i] != '{' && pat[i] != '}') i++;
            toks[nt++] = (token){N_STATIC, pat + s, i - s, {0, 0}};
            continue;
        }
        /* a parameter: "{" name [ ":" type ] "}" filling a whole segment */
        size_t s = i, close = i + 1;
        while (close < n && pat[close] != '}' && pat[close] != '{') close++;
        if (close >= n || pat[close] != '}') {
            ERR("invalid route pattern \"%s\": unbalanced '{'", pat);
            return -1;
        }
        if (pat[s - 1] != '/' || (close + 1 < n && pat[close + 1] != '/')) {
            ERR("invalid route pattern \"%s\": a parameter must fill a whole segment", pat);
            return -1;
        }
        const char *name = pat + s + 1;
        const char *colon = memchr(name, ':', close - (s + 1));
        size_t name_len = colon ? (size_t)(colon - name) : close - (s + 1);
        nkind kind = N_STR;
        if (colon) {
            size_t tl = (size_t)(pat + close - (colon + 1));
            const char *t = colon + 1;
            if (tl == 3 && memcmp(t, "int", 3) == 0)
                kind = N_INT;
            else if (tl == 4 && memcmp(t, "path", 4) == 0)
                kind = N_PATH;
            else if ((tl == 3 && memcmp(t, "str", 3) == 0) || (tl == 6 && memcmp(t, "string", 6) == 0))
                kind = N_STR;
            else {
                ERR("invalid route pattern \"%s\": unknown parameter type in \"%.*s\" "
                    "(use {name}, {name:int} or {name:path})",
                    pat, (int)(close + 1 - s), pat + s);
                return -1;
            }
        }
        if (name_len == 0) {
            ERR("invalid route pattern \"%s\": a parameter needs a name", pat);
            return -1;
        }
        for (size_t k = 0; k < name_len; k++) {
            char c = name[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
                ERR("invalid route pattern \"%s\": parameter names use letters, digits and '_'", pat);
                return -1;
            }
        }
        if (kind == N_PATH && close + 1 != n) {
            ERR("invalid route pattern \"%s\": a {name:path} parameter must be the last segment", pat);
            return -1;
        }
        if (++nparams > CC_MAX_PARAMS) {
            ERR("invalid route pattern \"%s\": more than %d parameters", pat, CC_MAX_PARAMS);
            return -1;
        }
        for (size_t k = 0; k < nt; k++)
            if (toks[k].kind != N_STATIC && toks[k].name.len == name_len &&
                memcmp(toks[k].name.at, name, name_len) == 0) {
                ERR("invalid route pattern \"%s\": parameter name \"%.*s\" is used twice", pat, (int)name_len, name);
                return -1;
            }
        toks[nt++] = (token){kind, pat + s, close + 1 - s, {name, (uint32_t)name_len}};
        i = close + 1;
    }
    *ntoks = nt;
    return 0;
}

static rnode **param_slot(rnode *n, nkind k) {
    return k == N_INT ? &n->int_kid : k == N_STR ? &n->str_kid : &n->path_kid;
}

/*
 * Walks the tokens through the tree. With dry set, only checks for conflicts,
 * stopping where the route would leave the existing tree (*out = NULL) or at
 * the existing final node; otherwise inserts and returns the final node.
 */
static int walk(cc_router *r, const char *pat, const token *toks, size_t nt, bool dry, rnode **out, char *err,
                size_t err_len) {
    rnode *cur = r->root;
    *out = NULL;
    for (size_t t = 0; t < nt; t++) {
        const token *tk = &toks[t];
        if (tk->kind == N_STATIC) {
            const char *s = tk->s;
            size_t n = tk->n;
            while (n > 0) {
                rnode *kid = find_kid(cur, s[0]);
                if (!kid) {
                    if (dry) return 0; /* the rest is new: nothing to conflict with */
                    kid = node_new(N_STATIC);
                    if (!kid || add_kid(cur, kid) != 0) {
                        free(kid);
                        goto oom;
                    }
                    kid->label = s;
                    kid->label_len = (uint32_t)n;
                    cur = kid;
                    break;
                }
                uint32_t l = 0;
                while (l < kid->label_len && l < n && kid->label[l] == s[l]) l++;
                if (l < kid->label_len) {
                    if (dry) return 0;
                    if (split(kid, l) != 0) goto oom;
                }
                cur = kid;
                s += l;
                n -= l;
            }
            continue;
        }
        /* a parameter at the position after cur's label */
        rnode **slot = param_slot(cur, tk->kind);
        if (*slot &&
            !((*slot)->pname.len == tk->name.len && memcmp((*slot)->pname.at, tk->name.at, tk->name.len) == 0)) {
            ERR("route \"%s\" conflicts with \"%s\": parameters {%.*s%s} and {%.*s%s} are at the same "
                "position and must have the same name",
                pat, (*slot)->origin, (int)tk->name.len, tk->name.at, type_suffix(tk->kind), (int)(*slot)->pname.len,
                (*slot)->pname.at, type_suffix(tk->kind));
            return -1;
        }
        static const nkind kinds[3] = {N_INT, N_STR, N_PATH};
        for (int k = 0; k < 3; k++) {
            rnode *o = *param_slot(cur, kinds[k]);
            if (kinds[k] == tk->kind || !o) continue;
            if (o->pname.len == tk->name.len && memcmp(o->pname.at, tk->name.at, tk->name.len) == 0) {
                ERR("route \"%s\" conflicts with \"%s\": parameters {%.*s%s} and {%.*s%s} are at the same "
                    "position with the same name but different types",
                    pat, o->origin, (int)tk->name.len, tk->name.at, type_suffix(tk->kind), (int)o->pname.len,
                    o->pname.at, type_suffix(o->kind));
                return -1;
            }
        }
        if (!*slot) {
            if (dry) return 0;
            rnode *p = node_new(tk->kind);
            if (!p) goto oom;
            p->pname = tk->name;
            p->origin = pat;
            *slot = p;
        }
        cur = *slot;
    }
    *out = cur;
    return 0;
oom:
    ERR("out of memory adding route \"%s\"", pat);
    return -1;
}

int cc_router_add(cc_router *r, cc_method method, const char *pattern, int32_t handler_id, char *err, size_t err_len) {
    if (!r || !pattern) {
        ERR("invalid arguments to cc_router_add");
        return -1;
    }
    if (method <= CC_METHOD_OTHER || method >= CC_METHOD_COUNT) {
        ERR("route \"%s\": the method must be one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS", pattern);
        return -1;
    }
    if (handler_id < 0) {
        ERR("route \"%s\": handler ids must be >= 0", pattern);
        return -1;
    }
    /* Tokens point into the router's own copy: names and labels live as long
     * as the router. */
    char *copy = strdup(pattern);
    if (!copy) {
        ERR("out of memory adding route \"%s\"", pattern);
        return -1;
    }
    token toks[MAX_TOKENS];
    size_t nt = 0;
    rnode *end = NULL;
    if (tokenize(copy, toks, &nt, err, err_len) != 0) goto fail;
    /* Dry run first so that a conflict leaves the tree untouched. */
    if (walk(r, pattern, toks, nt, true, &end, err, err_len) != 0) goto fail;
    if (end && end->handlers[method] >= 0) {
        if (strcmp(pattern, end->patterns[method]) == 0)
            ERR("duplicate route: %s %s is already registered", cc__method_names[method], pattern);
        else
            ERR("duplicate route: %s %s is the same route as %s %s", cc__method_names[method], pattern,
                cc__method_names[method], end->patterns[method]);
        goto fail;
    }
    if (r->ncopies == r->capcopies) {
        size_t cap = r->capcopies ? r->capcopies * 2 : 16;
        char **c = realloc(r->copies, cap * sizeof *c);
        if (!c) {
            ERR("out of memory adding route \"%s\"", pattern);
            goto fail;
        }
        r->copies = c;
        r->capcopies = cap;
    }
    if (walk(r, copy, toks, nt, false, &end, err, err_len) != 0) {
        /* Only out-of-memory gets here; nodes created so far are harmless
         * (no methods) and point into copy, so keep it alive. */
        r->copies[r->ncopies++] = copy;
        return -1;
    }
    r->copies[r->ncopies++] = copy;
    end->handlers[method] = handler_id;
    end->patterns[method] = copy;
    end->methods |= 1u << method;
    return 0;
fail:
    free(copy);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

typedef struct mstate {
    const char *path;
    size_t len;
    cc_method method;
    cc_match *out;
    uint32_t allowed; /* union over path matches lacking the method (405) */
} mstate;

static inline uint32_t allowed_of(const rnode *n) {
    uint32_t m = n->methods;
    if (m & (1u << CC_METHOD_GET)) m |= 1u << CC_METHOD_HEAD; /* HEAD is served by GET */
    return m;
}

/* "{x:int}": a signed decimal that fits int64. */
static bool parse_i64(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (n > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n) return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9 || v > (limit - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool match_from(const rnode *n, size_t pos, mstate *st);

static bool try_param(const rnode *n, size_t pos, size_t end, int64_t iv, mstate *st) {
    cc_match *m = st->out;
    cc_param *p = &m->params[m->num_params++];
    p->name = n->pname;
    p->value = (cc_slice){st->path + pos, (uint32_t)(end - pos)};
    p->int_value = iv;
    p->type = n->kind == N_INT ? CC_PARAM_INT : n->kind == N_PATH ? CC_PARAM_PATH : CC_PARAM_STRING;
    if (match_from(n, end, st)) return true;
    m->num_params--; /* backtrack */
    return false;
}

/* n's own part ended at pos: finish here or descend. */
static bool match_from(const rnode *n, size_t pos, mstate *st) {
    const size_t len = st->len;
    if (pos == len) {
        if (n->methods) {
            int32_t h = n->handlers[st->method];
            if (h < 0 && st->method == CC_METHOD_HEAD) h = n->handlers[CC_METHOD_GET];
            if (h >= 0) {
                st->out->handler_id = h;
                st->out->allowed_methods = allowed_of(n);
                return true;
            }
            st->allowed |= allowed_of(n);
        }
    } else {
        /* literal first */
        const rnode *k = find_kid(n, st->path[pos]);
        if (k && len - pos >= k->label_len && memcmp(st->path + pos, k->label, k->label_len) == 0 &&
            match_from(k, pos + k->label_len, st))
            return true;
        if (n->int_kid || n->str_kid) {
            const char *slash = memchr(st->path + pos, '/', len - pos);
            size_t end = slash ? (size_t)(slash - st->path) : len;
            if (end > pos) { /* an empty segment matches no {x} */
                int64_t iv;
                if (n->int_kid && parse_i64(st->path + pos, end - pos, &iv) && try_param(n->int_kid, pos, end, iv, st))
                    return true;
                if (n->str_kid && try_param(n->str_kid, pos, end, 0, st)) return true;
            }
        }
    }
    /* {x:path} takes the rest, possibly empty ("/static/" matches "/static/{p:path}"). */
    if (n->path_kid && try_param(n->path_kid, pos, len, 0, st)) return true;
    return false;
}

cc_route_result cc_router_match(const cc_router *r, cc_method method, const char *path, size_t path_len,
                                cc_match *out) {
    out->handler_id = -1;
    out->num_params = 0;
    out->allowed_methods = 0;
    if (!r) return CC_ROUTE_NOT_FOUND;
    if ((unsigned)method >= CC_METHOD_COUNT) method = CC_METHOD_OTHER;
    mstate st = {path, path_len, method, out, 0};
    if (match_from(r->root, 0, &st)) return CC_ROUTE_FOUND;
    out->num_params = 0;
    out->allowed_methods = st.allowed;
    return st.allowed ? CC_ROUTE_METHOD_NOT_ALLOWED : CC_ROUTE_NOT_FOUND;
}
