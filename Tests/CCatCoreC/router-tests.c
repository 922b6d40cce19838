/*
 * Router tests: static routes, typed parameters, precedence with
 * backtracking, 404 vs 405, HEAD -> GET, and rejected patterns.
 */
#include "ccatcore.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char *result_name(cc_route_result r) {
    return r == CC_ROUTE_FOUND ? "FOUND" : r == CC_ROUTE_NOT_FOUND ? "NOT_FOUND" : "METHOD_NOT_ALLOWED";
}

static void add_ok(cc_router *r, cc_method m, const char *pat, int id) {
    char err[256] = "";
    int rc = cc_router_add(r, m, pat, id, err, sizeof err);
    check(rc == 0, "add %s should succeed, got: %s", pat, err);
}

/* Adds and expects an error whose message contains every `needles` entry. */
static void add_err(cc_router *r, cc_method m, const char *pat, const char *n1, const char *n2) {
    char err[512] = "";
    int rc = cc_router_add(r, m, pat, 99, err, sizeof err);
    check(rc == -1, "add %s should fail", pat);
    if (rc == -1) {
        check(err[0] != 0, "add %s: empty error message", pat);
        if (n1) check(strstr(err, n1) != NULL, "add %s: message \"%s\" lacks \"%s\"", pat, err, n1);
        if (n2) check(strstr(err, n2) != NULL, "add %s: message \"%s\" lacks \"%s\"", pat, err, n2);
    }
}

static cc_route_result match(const cc_router *r, cc_method m, const char *path, cc_match *out) {
    return cc_router_match(r, m, path, strlen(path), out);
}

static void expect_found(const cc_router *r, cc_method m, const char *path, int id) {
    cc_match mt;
    cc_route_result rr = match(r, m, path, &mt);
    check(rr == CC_ROUTE_FOUND && mt.handler_id == id, "%s: expected FOUND handler %d, got %s handler %d", path, id,
          result_name(rr), mt.handler_id);
}

static void expect_result(const cc_router *r, cc_method m, const char *path, cc_route_result want) {
    cc_match mt;
    cc_route_result rr = match(r, m, path, &mt);
    check(rr == want, "%s: expected %s, got %s (handler %d)", path, result_name(want), result_name(rr), mt.handler_id);
}

static bool param_is(const cc_match *m, uint32_t i, const char *name, const char *value) {
    if (i >= m->num_params) return false;
    const cc_param *p = &m->params[i];
    return p->name.len == strlen(name) && memcmp(p->name.at, name, p->name.len) == 0 && p->value.len == strlen(value) &&
           memcmp(p->value.at, value, p->value.len) == 0;
}

#define BIT(m) (1u << (m))

static void test_static(void) {
    cc_router *r = cc_router_create();
    add_ok(r, CC_METHOD_GET, "/", 1);
    add_ok(r, CC_METHOD_GET, "/plaintext", 2);
    add_ok(r, CC_METHOD_GET, "/json", 3);
    add_ok(r, CC_METHOD_GET, "/users", 4);
    add_ok(r, CC_METHOD_GET, "/user-groups", 5); /* shares "/user" with /users: splits the edge */
    add_ok(r, CC_METHOD_GET, "/u", 6);
    add_ok(r, CC_METHOD_GET, "/a/", 7);
    add_ok(r, CC_METHOD_GET, "/api/v1/health", 8);
    add_ok(r, CC_METHOD_GET, "/api/v2/health", 9);
    expect_found(r, CC_METHOD_GET, "/", 1);
    expect_found(r, CC_METHOD_GET, "/plaintext", 2);
    expect_found(r, CC_METHOD_GET, "/json", 3);
    expect_found(r, CC_METHOD_GET, "/users", 4);
    expect_found(r, CC_METHOD_GET, "/user-groups", 5);
    expect_found(r, CC_METHOD_GET, "/u", 6);
    expect_found(r, CC_METHOD_GET, "/api/v1/health", 8);
    expect_found(r, CC_METHOD_GET, "/api/v2/health", 9);
    expect_result(r, CC_METHOD_GET, "/user", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/usersx", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/plain", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/api/v3/health", CC_ROUTE_NOT_FOUND);
    /* trailing slash is significant */
    expect_found(r, CC_METHOD_GET, "/a/", 7);
    expect_result(r, CC_METHOD_GET, "/a", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/", CC_ROUTE_NOT_FOUND);
    /* routing is case-sensitive and does not decode */
    expect_result(r, CC_METHOD_GET, "/JSON", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/%6Ason", CC_ROUTE_NOT_FOUND);
    cc_router_destroy(r);
}

static void test_params(void) {
    cc_router *r = cc_router_create();
    add_ok(r, CC_METHOD_GET, "/users/{id:int}", 1);
    add_ok(r, CC_METHOD_GET, "/posts/{slug}", 2);
    add_ok(r, CC_METHOD_GET, "/posts/{slug}/comments/{cid:int}", 3);
    add_ok(r, CC_METHOD_GET, "/static/{file:path}", 4);
    add_ok(r, CC_METHOD_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", 5);
    add_ok(r, CC_METHOD_GET, "/n/{x:str}", 6);

    cc_match m;
    check(match(r, CC_METHOD_GET, "/users/42", &m) == CC_ROUTE_FOUND && m.handler_id == 1 && m.num_params == 1 &&
              param_is(&m, 0, "id", "42") && m.params[0].type == CC_PARAM_INT && m.params[0].int_value == 42,
          "/users/42 -> id=42 int");
    check(match(r, CC_METHOD_GET, "/users/-7", &m) == CC_ROUTE_FOUND && m.params[0].int_value == -7, "/users/-7");
    check(match(r, CC_METHOD_GET, "/users/007", &m) == CC_ROUTE_FOUND && m.params[0].int_value == 7, "/users/007");
    check(match(r, CC_METHOD_GET, "/users/9223372036854775807", &m) == CC_ROUTE_FOUND &&
              m.params[0].int_value == INT64_MAX,
          "INT64_MAX fits");
    check(match(r, CC_METHOD_GET, "/users/-9223372036854775808", &m) == CC_ROUTE_FOUND &&
              m.params[0].int_value == INT64_MIN,
          "INT64_MIN fits");
    /* int mismatch and overflow: with only {id:int} there, not found */
    expect_result(r, CC_METHOD_GET, "/users/abc", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/12a", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/-", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/+5", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/1.5", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/9223372036854775808", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/-9223372036854775809", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/99999999999999999999", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/users/", CC_ROUTE_NOT_FOUND); /* empty segment */
    expect_result(r, CC_METHOD_GET, "/users/42/", CC_ROUTE_NOT_FOUND);

    check(match(r, CC_METHOD_GET, "/posts/hello-world", &m) == CC_ROUTE_FOUND && m.handler_id == 2 &&
              param_is(&m, 0, "slug", "hello-world") && m.params[0].type == CC_PARAM_STRING,
          "/posts/hello-world");
    check(match(r, CC_METHOD_GET, "/posts/caf%C3%A9", &m) == CC_ROUTE_FOUND && param_is(&m, 0, "slug", "caf%C3%A9"),
          "string params are not decoded");
    expect_result(r, CC_METHOD_GET, "/posts/", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/posts//comments/1", CC_ROUTE_NOT_FOUND);
    check(match(r, CC_METHOD_GET, "/posts/p1/comments/5", &m) == CC_ROUTE_FOUND && m.handler_id == 3 &&
              m.num_params == 2 && param_is(&m, 0, "slug", "p1") && param_is(&m, 1, "cid", "5") &&
              m.params[1].int_value == 5,
          "/posts/p1/comments/5");
    expect_result(r, CC_METHOD_GET, "/posts/p1/comments/x", CC_ROUTE_NOT_FOUND);

    check(match(r, CC_METHOD_GET, "/static/css/site.css", &m) == CC_ROUTE_FOUND && m.handler_id == 4 &&
              param_is(&m, 0, "file", "css/site.css") && m.params[0].type == CC_PARAM_PATH,
          "/static/css/site.css -> path param");
    check(match(r, CC_METHOD_GET, "/static/a", &m) == CC_ROUTE_FOUND && param_is(&m, 0, "file", "a"), "/static/a");
    check(match(r, CC_METHOD_GET, "/static/", &m) == CC_ROUTE_FOUND && param_is(&m, 0, "file", ""),
          "/static/ -> empty path param");
    check(match(r, CC_METHOD_GET, "/static/a//b/", &m) == CC_ROUTE_FOUND && param_is(&m, 0, "file", "a//b/"),
          "path param keeps slashes");
    expect_result(r, CC_METHOD_GET, "/static", CC_ROUTE_NOT_FOUND);

    check(match(r, CC_METHOD_GET, "/1/2/3/4/5/6/7/8", &m) == CC_ROUTE_FOUND && m.handler_id == 5 && m.num_params == 8 &&
              param_is(&m, 7, "h", "8"),
          "eight params");
    check(match(r, CC_METHOD_GET, "/n/v", &m) == CC_ROUTE_FOUND && m.handler_id == 6 && param_is(&m, 0, "x", "v"),
          "{x:str} is a string param");
    cc_router_destroy(r);
}

static void test_precedence(void) {
    cc_router *r = cc_router_create();
    add_ok(r, CC_METHOD_GET, "/users/me", 1);
    add_ok(r, CC_METHOD_GET, "/users/{id:int}", 2);
    add_ok(r, CC_METHOD_GET, "/users/{name}", 3);
    add_ok(r, CC_METHOD_GET, "/users/{name}/posts", 4);
    add_ok(r, CC_METHOD_GET, "/users/{id:int}/avatar", 5);
    add_ok(r, CC_METHOD_GET, "/users/me/settings", 6);
    add_ok(r, CC_METHOD_GET, "/files/{p:path}", 7);
    add_ok(r, CC_METHOD_GET, "/files/{name}", 8);
    add_ok(r, CC_METHOD_GET, "/files/readme", 9);

    cc_match m;
    expect_found(r, CC_METHOD_GET, "/users/me", 1);                    /* literal beats both params */
    expect_found(r, CC_METHOD_GET, "/users/42", 2);                    /* int beats string */
    expect_found(r, CC_METHOD_GET, "/users/bob", 3);                   /* string when not an int */
    expect_found(r, CC_METHOD_GET, "/users/mex", 3);                   /* literal prefix "me" is not a segment match */
    expect_found(r, CC_METHOD_GET, "/users/999999999999999999999", 3); /* int overflow falls back to string */
    expect_found(r, CC_METHOD_GET, "/users/me/settings", 6);
    /* backtracking: literal "me" then int fail, {name}/posts matches */
    check(match(r, CC_METHOD_GET, "/users/me/posts", &m) == CC_ROUTE_FOUND && m.handler_id == 4 && m.num_params == 1 &&
              param_is(&m, 0, "name", "me"),
          "/users/me/posts backtracks into {name}");
    /* int matches the segment but has no /posts: back off to {name} */
    check(match(r, CC_METHOD_GET, "/users/42/posts", &m) == CC_ROUTE_FOUND && m.handler_id == 4 && m.num_params == 1 &&
              param_is(&m, 0, "name", "42"),
          "/users/42/posts backtracks from {id:int} to {name}");
    check(match(r, CC_METHOD_GET, "/users/42/avatar", &m) == CC_ROUTE_FOUND && m.handler_id == 5 &&
              m.params[0].int_value == 42,
          "/users/42/avatar");
    expect_result(r, CC_METHOD_GET, "/users/bob/avatar", CC_ROUTE_NOT_FOUND);
    expect_found(r, CC_METHOD_GET, "/files/readme", 9);
    expect_found(r, CC_METHOD_GET, "/files/other", 8); /* string beats path for one segment */
    expect_found(r, CC_METHOD_GET, "/files/a/b", 7);
    cc_router_destroy(r);
}

static void test_methods(void) {
    cc_router *r = cc_router_create();
    add_ok(r, CC_METHOD_GET, "/items", 1);
    add_ok(r, CC_METHOD_POST, "/items", 2);
    add_ok(r, CC_METHOD_GET, "/items/{id:int}", 3);
    add_ok(r, CC_METHOD_PUT, "/items/{id:int}", 4);
    add_ok(r, CC_METHOD_DELETE, "/items/{id:int}", 5);
    add_ok(r, CC_METHOD_HEAD, "/head-only", 6);
    add_ok(r, CC_METHOD_GET, "/both", 7);
    add_ok(r, CC_METHOD_HEAD, "/both", 8);
    add_ok(r, CC_METHOD_POST, "/only-post", 9);
    add_ok(r, CC_METHOD_GET, "/x/me", 10);
    add_ok(r, CC_METHOD_DELETE, "/x/{name}", 11);

    cc_match m;
    expect_found(r, CC_METHOD_GET, "/items", 1);
    expect_found(r, CC_METHOD_POST, "/items", 2);
    check(match(r, CC_METHOD_DELETE, "/items", &m) == CC_ROUTE_METHOD_NOT_ALLOWED &&
              m.allowed_methods == (BIT(CC_METHOD_GET) | BIT(CC_METHOD_HEAD) | BIT(CC_METHOD_POST)),
          "DELETE /items -> 405 allowing GET, HEAD, POST (got mask %#x)", m.allowed_methods);
    check(match(r, CC_METHOD_PATCH, "/items/3", &m) == CC_ROUTE_METHOD_NOT_ALLOWED &&
              m.allowed_methods ==
                  (BIT(CC_METHOD_GET) | BIT(CC_METHOD_HEAD) | BIT(CC_METHOD_PUT) | BIT(CC_METHOD_DELETE)),
          "PATCH /items/3 -> 405 (got mask %#x)", m.allowed_methods);
    check(match(r, CC_METHOD_OTHER, "/items", &m) == CC_ROUTE_METHOD_NOT_ALLOWED, "unknown method -> 405");
    expect_result(r, CC_METHOD_PATCH, "/items/x", CC_ROUTE_NOT_FOUND);
    expect_result(r, CC_METHOD_GET, "/nothing", CC_ROUTE_NOT_FOUND);
    check(match(r, CC_METHOD_GET, "/nothing", &m) == CC_ROUTE_NOT_FOUND && m.allowed_methods == 0 && m.handler_id == -1,
          "404 has no allowed methods");

    /* HEAD falls back to GET; an explicit HEAD route wins */
    expect_found(r, CC_METHOD_HEAD, "/items", 1);
    expect_found(r, CC_METHOD_HEAD, "/items/5", 3);
    expect_found(r, CC_METHOD_HEAD, "/both", 8);
    expect_found(r, CC_METHOD_GET, "/both", 7);
    expect_found(r, CC_METHOD_HEAD, "/head-only", 6);
    check(match(r, CC_METHOD_GET, "/head-only", &m) == CC_ROUTE_METHOD_NOT_ALLOWED &&
              m.allowed_methods == BIT(CC_METHOD_HEAD),
          "GET /head-only -> 405 allowing HEAD");
    check(match(r, CC_METHOD_HEAD, "/only-post", &m) == CC_ROUTE_METHOD_NOT_ALLOWED &&
              m.allowed_methods == BIT(CC_METHOD_POST),
          "HEAD without GET -> 405");
    check(match(r, CC_METHOD_GET, "/items", &m) == CC_ROUTE_FOUND &&
              m.allowed_methods == (BIT(CC_METHOD_GET) | BIT(CC_METHOD_HEAD) | BIT(CC_METHOD_POST)),
          "FOUND reports allowed methods");

    /* a literal that matches the path but lacks the method does not hide a
     * parameter route that has it */
    expect_found(r, CC_METHOD_DELETE, "/x/me", 11);
    expect_found(r, CC_METHOD_GET, "/x/me", 10);
    check(match(r, CC_METHOD_PUT, "/x/me", &m) == CC_ROUTE_METHOD_NOT_ALLOWED &&
              m.allowed_methods == (BIT(CC_METHOD_GET) | BIT(CC_METHOD_HEAD) | BIT(CC_METHOD_DELETE)),
          "405 lists the union of every route matching the path (got %#x)", m.allowed_methods);
    cc_router_destroy(r);
}

static void test_invalid(void) {
    cc_router *r = cc_router_create();
    add_ok(r, CC_METHOD_GET, "/users/{id:int}", 1);
    add_ok(r, CC_METHOD_GET, "/files/{p:path}", 2);
    add_ok(r, CC_METHOD_GET, "/ok", 3);

    add_err(r, CC_METHOD_GET, "", "must start with '/'", NULL);
    add_err(r, CC_METHOD_GET, "users", "must start with '/'", NULL);
    add_err(r, CC_METHOD_GET, "/a/{id", "unbalanced '{'", NULL);
    add_err(r, CC_METHOD_GET, "/a/id}", "unbalanced '}'", NULL);
    add_err(r, CC_METHOD_GET, "/a/{{id}}", "unbalanced", NULL);
    add_err(r, CC_METHOD_GET, "/a/{}", "needs a name", NULL);
    add_err(r, CC_METHOD_GET, "/a/{:int}", "needs a name", NULL);
    add_err(r, CC_METHOD_GET, "/a/{id:float}", "unknown parameter type", "{id:float}");
    add_err(r, CC_METHOD_GET, "/a/{my-id}", "parameter names", NULL);
    add_err(r, CC_METHOD_GET, "/a/x{id}", "whole segment", NULL);
    add_err(r, CC_METHOD_GET, "/a/{id}x", "whole segment", NULL);
    add_err(r, CC_METHOD_GET, "/a/{p:path}/more", "last segment", NULL);
    add_err(r, CC_METHOD_GET, "/a/{x}/{x}", "used twice", NULL);
    add_err(r, CC_METHOD_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", "more than 8 parameters", NULL);
    add_err(r, CC_METHOD_OTHER, "/a", "method", NULL);
    add_err(r, CC_METHOD_GET, "/ok", "duplicate route", "GET /ok");
    add_err(r, CC_METHOD_GET, "/users/{id:int}", "duplicate route", NULL);
    /* same slot, different name: names both patterns */
    add_err(r, CC_METHOD_DELETE, "/users/{uid:int}", "/users/{uid:int}", "/users/{id:int}");
    add_err(r, CC_METHOD_GET, "/files/{rest:path}", "/files/{rest:path}", "/files/{p:path}");
    /* same name, different type */
    add_err(r, CC_METHOD_POST, "/users/{id}", "/users/{id}", "/users/{id:int}");
    /* deeper: the conflict is found below an existing parameter */
    add_ok(r, CC_METHOD_GET, "/users/{id:int}/posts/{pid:int}", 4);
    add_err(r, CC_METHOD_GET, "/users/{id:int}/posts/{post:int}", "{post:int}", "/users/{id:int}/posts/{pid:int}");

    /* failed adds leave the router as it was */
    expect_found(r, CC_METHOD_GET, "/users/5", 1);
    expect_found(r, CC_METHOD_GET, "/ok", 3);
    expect_result(r, CC_METHOD_DELETE, "/users/5", CC_ROUTE_METHOD_NOT_ALLOWED);
    expect_result(r, CC_METHOD_GET, "/a/x", CC_ROUTE_NOT_FOUND);

    /* distinct names with distinct types at one position are fine */
    add_ok(r, CC_METHOD_GET, "/users/{name}", 5);
    add_ok(r, CC_METHOD_PUT, "/users/{id:int}", 6); /* same route, another method */
    expect_found(r, CC_METHOD_PUT, "/users/5", 6);
    char err[8];
    check(cc_router_add(r, CC_METHOD_GET, "nope", 1, err, sizeof err) == -1 && strlen(err) < sizeof err,
          "error messages are truncated to err_len");
    check(cc_router_add(r, CC_METHOD_GET, "nope", 1, NULL, 0) == -1, "NULL err is allowed");
    cc_router_destroy(r);
}

/* Many routes sharing prefixes, then every one is found again. */
static void test_many(void) {
    cc_router *r = cc_router_create();
    char pat[64], path[64];
    for (int i = 0; i < 500; i++) {
        snprintf(pat, sizeof pat, "/r%d/x%d/{id:int}", i % 37, i);
        add_ok(r, CC_METHOD_GET, pat, i);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(path, sizeof path, "/r%d/x%d/%d", i % 37, i, i * 3);
        cc_match m;
        cc_route_result rr = match(r, CC_METHOD_GET, path, &m);
        if (rr != CC_ROUTE_FOUND || m.handler_id != i || m.params[0].int_value != i * 3) {
            check(false, "many: %s", path);
            break;
        }
    }
    passed++;
    cc_router_destroy(r);
}

int main(void) {
    test_static();
    test_params();
    test_precedence();
    test_methods();
    test_invalid();
    test_many();
    printf("router-tests: %d checks\n", passed + failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
