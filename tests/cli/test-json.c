/* cli/json.c: string escaping and GVariant to JSON. */
#include <glib.h>
#include <math.h>

#include "cli/json.h"

static char *escaped(const char *s, gssize len)
{
	GString *out = g_string_new(NULL);
	json_append_string(out, s, len);
	return g_string_free(out, FALSE);
}

static void test_string_escapes(void)
{
	static const struct {
		const char *in;
		gssize len;
		const char *want;
	} cases[] = {
		{ "plain", -1, "\"plain\"" },
		{ "", -1, "\"\"" },
		{ "say \"hi\"", -1, "\"say \\\"hi\\\"\"" },
		{ "back\\slash", -1, "\"back\\\\slash\"" },
		{ "a\nb\tc\rd", -1, "\"a\\nb\\tc\\rd\"" },
		{ "\x01\x1f\x7f", -1, "\"\\u0001\\u001f\\u007f\"" },
		{ "nul\0in", 6, "\"nul\\u0000in\"" },
		/* Valid UTF-8 passes as it is. */
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", -1,
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		/* Bytes that are no UTF-8: one \u00XX each. */
		{ "\xff", -1, "\"\\u00ff\"" },
		{ "x\xc3(y", -1, "\"x\\u00c3(y\"" },
		{ "\xe2\x82", -1, "\"\\u00e2\\u0082\"" },
		{ "\xed\xa0\x80", -1, "\"\\u00ed\\u00a0\\u0080\"" }, /* a surrogate */
		{ "\xc0\xaf", -1, "\"\\u00c0\\u00af\"" },             /* overlong "/" */
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = escaped(cases[i].in, cases[i].len);
		g_assert_cmpstr(got, ==, cases[i].want);
		/* Whatever went in, the literal is valid UTF-8. */
		g_assert_true(g_utf8_validate(got, -1, NULL));
	}
}

static char *as_json(GVariant *value, guint indent)
{
	g_autoptr(GVariant) sunk = g_variant_ref_sink(value);
	GString *out = g_string_new(NULL);
	json_append_variant(out, sunk, indent);
	return g_string_free(out, FALSE);
}

static void test_variant_one_line(void)
{
	g_autofree char *got = as_json(g_variant_new_parsed(
		"{'version': <uint32 1>, 'name': <'a\"b'>, 'ok': <true>, 'off': <false>,"
		" 'n': <int64 -5>, 'big': <uint64 18446744073709551615>,"
		" 'none': <@mx nothing>, 'some': <@mx just 7>, 'list': <[1, 2]>,"
		" 'empty': <@aa{sv} []>, 'd': <1.5>, 'tuple': <(1, 'x')>}"), 0);
	g_assert_cmpstr(got, ==,
		"{\"version\":1,\"name\":\"a\\\"b\",\"ok\":true,\"off\":false,"
		"\"n\":-5,\"big\":18446744073709551615,\"none\":null,\"some\":7,"
		"\"list\":[1,2],\"empty\":[],\"d\":1.5,\"tuple\":[1,\"x\"]}");
}

static void test_variant_indented(void)
{
	g_autofree char *got = as_json(g_variant_new_parsed(
		"{'a': <[{'b': <uint32 1>}]>, 'e': <@a{sv} {}>}"), 2);
	g_assert_cmpstr(got, ==,
		"{\n"
		"  \"a\": [\n"
		"    {\n"
		"      \"b\": 1\n"
		"    }\n"
		"  ],\n"
		"  \"e\": {}\n"
		"}");
}

static void test_variant_not_finite(void)
{
	GVariant *items[] = { g_variant_new_double(INFINITY), g_variant_new_double(NAN),
			      g_variant_new_double(0.25) };
	g_autofree char *got = as_json(g_variant_new_array(G_VARIANT_TYPE_DOUBLE, items, 3), 0);
	g_assert_cmpstr(got, ==, "[null,null,0.25]");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli/json/string-escapes", test_string_escapes);
	g_test_add_func("/cli/json/variant-one-line", test_variant_one_line);
	g_test_add_func("/cli/json/variant-indented", test_variant_indented);
	g_test_add_func("/cli/json/variant-not-finite", test_variant_not_finite);
	return g_test_run();
}
