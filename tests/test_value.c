/*
 * Value trees and JSON: building, reading, ownership rules, limits, and the
 * JSON mapping with its tags for what JSON lacks.
 */
#include "test_util.h"

#include <stash/hash.h>
#include <stash/value.h>

#include <math.h>

static stash_value *int_value(int64_t i)
{
    stash_value *v;
    assert_ok(stash_value_new_int(i, &v));
    return v;
}

static stash_value *from_json(const char *text)
{
    stash_value *v = NULL;
    assert_ok(stash_value_from_json(text, strlen(text), &v, NULL));
    return v;
}

static char *to_json(const stash_value *v)
{
    char *text;
    assert_ok(stash_value_to_json(v, 0, &text, NULL));
    return text;
}

static void test_dict_keeps_insertion_order_and_replaces_in_place(void **state)
{
    (void)state;
    stash_value *d;
    assert_ok(stash_value_new_dict(&d));
    assert_ok(stash_value_dict_set(d, "b", int_value(1)));
    assert_ok(stash_value_dict_set(d, "a", int_value(2)));
    assert_ok(stash_value_dict_set(d, "b", int_value(3)));
    assert_int_equal(stash_value_length(d), 2);
    const char *key;
    assert_ok(stash_value_dict_key(d, 0, &key, NULL));
    assert_string_equal(key, "b");
    int64_t i;
    assert_ok(stash_value_get_int(stash_value_dict_get(d, "b"), &i));
    assert_int_equal(i, 3);
    assert_null(stash_value_dict_get(d, "missing"));
    stash_value_free(&d);
    assert_null(d);
}

static void test_large_dicts_are_indexed(void **state)
{
    (void)state;
    stash_value *d;
    char key[32];
    assert_ok(stash_value_new_dict(&d));
    for (int k = 0; k < 20000; k++) {
        snprintf(key, sizeof key, "key%d", k);
        assert_ok(stash_value_dict_set(d, key, int_value(k)));
    }
    for (int k = 0; k < 20000; k += 997) {
        int64_t i;
        snprintf(key, sizeof key, "key%d", k);
        assert_ok(stash_value_get_int(stash_value_dict_get(d, key), &i));
        assert_int_equal(i, k);
    }
    assert_ok(stash_value_dict_set(d, "key5", int_value(-5)));
    assert_int_equal(stash_value_length(d), 20000);
    stash_value_free(&d);
}

static void test_a_value_lives_in_one_container_only(void **state)
{
    (void)state;
    stash_value *a, *b, *item = int_value(1);
    assert_ok(stash_value_new_list(&a));
    assert_ok(stash_value_new_tuple(&b));
    assert_ok(stash_value_append(a, item));
    assert_int_equal(stash_value_append(b, item), STASH_E_INVALID);
    assert_int_equal(stash_value_append(a, a), STASH_E_UNSUPPORTED);
    stash_value *scalar = int_value(2), *three = int_value(3);
    assert_int_equal(stash_value_append(scalar, three), STASH_E_INVALID);
    stash_value_free(&three); /* a failed append leaves it with the caller */
    stash_value_free(&scalar);
    stash_value_free(&a);
    stash_value_free(&b);
}

static void test_getters_check_the_kind(void **state)
{
    (void)state;
    stash_value *s;
    assert_int_equal(stash_value_new_string("\xC3\x28", 2, &s), STASH_E_INVALID);
    assert_int_equal(stash_value_new_string("\xED\xA0\x80", 3, &s), STASH_E_INVALID);
    assert_ok(stash_value_new_string("h\0i", 3, &s));
    int64_t i;
    assert_int_equal(stash_value_get_int(s, &i), STASH_E_INVALID);
    const char *text;
    size_t len;
    assert_ok(stash_value_get_string(s, &text, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(text, "h\0i", 4);
    assert_string_equal(stash_value_kind_name(stash_value_kind_of(s)), "string");
    stash_value_free(&s);
}

static void test_nesting_past_the_limit_is_refused(void **state)
{
    (void)state;
    stash_value *inner;
    assert_ok(stash_value_new_list(&inner));
    for (int depth = 1; depth < STASH_VALUE_MAX_DEPTH; depth++) {
        stash_value *outer;
        assert_ok(stash_value_new_list(&outer));
        assert_ok(stash_value_append(outer, inner));
        inner = outer;
    }
    stash_value *top;
    assert_ok(stash_value_new_list(&top));
    assert_int_equal(stash_value_append(top, inner), STASH_E_LIMIT);
    stash_value_free(&top);
    stash_value_free(&inner);
}

static void test_equal_compares_values_not_layout(void **state)
{
    (void)state;
    stash_value *a = from_json("{\"x\": [1, 2.5, {\"$float\": \"nan\"}], \"y\": null}");
    stash_value *b = from_json("{\"y\": null, \"x\": [1, 2.5, {\"$float\": \"nan\"}]}");
    stash_value *c = from_json("{\"y\": null, \"x\": [1, 2.5, 0.0]}");
    assert_true(stash_value_equal(a, b));
    assert_false(stash_value_equal(a, c));
    stash_value_free(&a);
    stash_value_free(&b);
    stash_value_free(&c);
}

static void test_json_round_trips_every_kind(void **state)
{
    (void)state;
    const char *text = "{\"n\": null, \"t\": true, \"i\": -9223372036854775808, "
                       "\"f\": 0.1, \"s\": \"\xc3\xa9\\u0000\", \"b\": {\"$bytes\": \"AAH/\"}, "
                       "\"a\": {\"$array\": {\"descr\": \">i2\", \"fortran_order\": false, "
                       "\"shape\": [2], \"data\": \"AAEAAg==\"}}, "
                       "\"l\": [[], {}], \"inf\": {\"$float\": \"-inf\"}}";
    stash_value *v = from_json(text);
    const void *bytes;
    size_t len;
    assert_ok(stash_value_get_bytes(stash_value_dict_get(v, "b"), &bytes, &len));
    assert_int_equal(len, 3);
    const stash_array_desc *desc;
    const void *data;
    assert_ok(stash_value_get_array(stash_value_dict_get(v, "a"), &desc, &data));
    assert_int_equal(desc->dtype, STASH_DTYPE_INT16);
    assert_int_equal(desc->byte_order, STASH_BIG_ENDIAN);
    char *out = to_json(v);
    assert_string_equal(out, text);
    stash_value *back = from_json(out);
    assert_true(stash_value_equal(v, back));
    free(out);
    stash_value_free(&back);
    stash_value_free(&v);
}

static void test_json_floats_use_the_fewest_exact_digits(void **state)
{
    (void)state;
    stash_value *v = from_json("[0.1, 1.0, 1e300]");
    char *out = to_json(v);
    assert_string_equal(out, "[0.1, 1.0, 1e300]");
    free(out);
    stash_value_free(&v);
}

static void test_json_errors_say_where(void **state)
{
    (void)state;
    stash_value *v = NULL;
    stash_json_error err;
    const char *bad = "{\n  \"a\": [1, 2,, 3]\n}";
    assert_int_equal(stash_value_from_json(bad, strlen(bad), &v, &err), STASH_E_CORRUPT);
    assert_null(v);
    assert_int_equal(err.line, 2);
    assert_true(strlen(err.message) > 0);
    const char *big = "[123456789012345678901234567890]";
    assert_int_equal(stash_value_from_json(big, strlen(big), &v, &err), STASH_E_RANGE);
    const char *tag = "{\"$array\": {\"descr\": \"<f8\", \"fortran_order\": false, "
                      "\"shape\": [4], \"data\": \"AAAAAAAAAAA=\"}}";
    assert_int_equal(stash_value_from_json(tag, strlen(tag), &v, &err), STASH_E_TRUNCATED);
    const char *object = "{\"$array\": {\"descr\": \"O\", \"fortran_order\": false, "
                         "\"shape\": [], \"data\": \"\"}}";
    assert_int_equal(stash_value_from_json(object, strlen(object), &v, &err), STASH_E_DTYPE);
}

static void test_deep_json_is_refused_not_recursed(void **state)
{
    (void)state;
    size_t depth = 1000;
    char *text = malloc(2 * depth + 1);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    stash_value *v = NULL;
    assert_int_equal(stash_value_from_json(text, 2 * depth, &v, NULL), STASH_E_LIMIT);
    assert_null(v);
    free(text);
}

/* A borrowed array shows the caller's memory, and is in every other way the copy it saves. */
static void test_a_borrowed_array_is_the_callers_memory_and_acts_as_a_copy(void **state)
{
    (void)state;
    double window[6] = {1, 2, 3, 4, 5, 6};
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 2, (uint64_t[]){2, 3}));
    stash_value *borrowed = NULL, *owned = NULL, *list = NULL;
    assert_ok(stash_value_new_array_borrowed(&d, window, &borrowed));
    assert_ok(stash_value_new_array(&d, window, &owned));
    const stash_array_desc *desc;
    const void *data;
    assert_ok(stash_value_get_array(borrowed, &desc, &data));
    assert_ptr_equal(data, window); /* no copy */
    assert_true(stash_value_equal(borrowed, owned));
    stash_key a, b;
    assert_ok(stash_hash_value(borrowed, &a));
    assert_ok(stash_hash_value(owned, &b));
    assert_string_equal(a.text, b.text);
    char *x = NULL, *y = NULL;
    assert_ok(stash_value_to_json(borrowed, 0, &x, NULL));
    assert_ok(stash_value_to_json(owned, 0, &y, NULL));
    assert_string_equal(x, y);
    free(x);
    free(y);
    /* In a container it still borrows; freeing the tree leaves the memory alone. */
    assert_ok(stash_value_new_list(&list));
    assert_ok(stash_value_append(list, borrowed));
    window[0] = 7;
    assert_ok(stash_value_get_array(stash_value_item(list, 0), &desc, &data));
    assert_true(((const double *)data)[0] == 7);
    stash_value_free(&list);
    assert_true(window[0] == 7);
    stash_value_free(&owned);
    /* Zero bytes need no memory; anything else does. */
    stash_array_desc empty;
    assert_ok(stash_array_desc_init(&empty, STASH_DTYPE_INT32, 1, (uint64_t[]){0}));
    assert_ok(stash_value_new_array_borrowed(&empty, NULL, &borrowed));
    stash_value_free(&borrowed);
    assert_int_equal(stash_value_new_array_borrowed(&d, NULL, &borrowed), STASH_E_INVALID);
    assert_int_equal(stash_value_new_array_borrowed(NULL, window, &borrowed), STASH_E_INVALID);
    assert_int_equal(stash_value_new_array_borrowed(&d, window, NULL), STASH_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_borrowed_array_is_the_callers_memory_and_acts_as_a_copy),
        cmocka_unit_test(test_dict_keeps_insertion_order_and_replaces_in_place),
        cmocka_unit_test(test_large_dicts_are_indexed),
        cmocka_unit_test(test_a_value_lives_in_one_container_only),
        cmocka_unit_test(test_getters_check_the_kind),
        cmocka_unit_test(test_nesting_past_the_limit_is_refused),
        cmocka_unit_test(test_equal_compares_values_not_layout),
        cmocka_unit_test(test_json_round_trips_every_kind),
        cmocka_unit_test(test_json_floats_use_the_fewest_exact_digits),
        cmocka_unit_test(test_json_errors_say_where),
        cmocka_unit_test(test_deep_json_is_refused_not_recursed),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
