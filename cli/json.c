/* JSON text from GVariant values (see cli/json.h). */
#include "cli/json.h"

#include <math.h>
#include <string.h>

void json_append_string(GString *out, const char *s, gssize len)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	const char *end = s + n;
	g_string_append_c(out, '"');
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': g_string_append(out, "\\\""); s++; continue;
		case '\\': g_string_append(out, "\\\\"); s++; continue;
		case '\n': g_string_append(out, "\\n"); s++; continue;
		case '\r': g_string_append(out, "\\r"); s++; continue;
		case '\t': g_string_append(out, "\\t"); s++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			g_string_append_printf(out, "\\u%04x", c);
			s++;
			continue;
		}
		if (c < 0x80) {
			g_string_append_c(out, (char)c);
			s++;
			continue;
		}
		/* A whole valid UTF-8 sequence is copied as it is; a byte
		 * that starts none is written as the code point of its value. */
		const char *next = g_utf8_find_next_char(s, end);
		if (next == NULL)
			next = end;
		gunichar u = g_utf8_get_char_validated(s, next - s);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			g_string_append_printf(out, "\\u%04x", c);
			s++;
			continue;
		}
		g_string_append_len(out, s, next - s);
		s = next;
	}
	g_string_append_c(out, '"');
}

static void json_newline(GString *out, guint indent, guint depth)
{
	if (indent == 0)
		return;
	g_string_append_c(out, '\n');
	for (guint i = 0; i < indent * depth; i++)
		g_string_append_c(out, ' ');
}

static void json_append_at(GString *out, GVariant *value, guint indent, guint depth);

/* An array of dict entries with string keys: an object. */
static gboolean json_is_object(GVariant *value)
{
	const GVariantType *type = g_variant_get_type(value);
	if (!g_variant_type_is_array(type))
		return FALSE;
	const GVariantType *element = g_variant_type_element(type);
	return g_variant_type_is_dict_entry(element) &&
	       g_variant_type_equal(g_variant_type_key(element), G_VARIANT_TYPE_STRING);
}

static void json_append_container(GString *out, GVariant *value, guint indent, guint depth)
{
	gboolean object = json_is_object(value);
	gsize n = g_variant_n_children(value);
	g_string_append_c(out, object ? '{' : '[');
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) child = g_variant_get_child_value(value, i);
		if (i > 0)
			g_string_append_c(out, ',');
		json_newline(out, indent, depth + 1);
		if (object) {
			g_autoptr(GVariant) key = g_variant_get_child_value(child, 0);
			g_autoptr(GVariant) item = g_variant_get_child_value(child, 1);
			gsize key_len;
			const char *key_text = g_variant_get_string(key, &key_len);
			json_append_string(out, key_text, (gssize)key_len);
			g_string_append(out, indent ? ": " : ":");
			json_append_at(out, item, indent, depth + 1);
		} else {
			json_append_at(out, child, indent, depth + 1);
		}
	}
	if (n > 0)
		json_newline(out, indent, depth);
	g_string_append_c(out, object ? '}' : ']');
}

static void json_append_at(GString *out, GVariant *value, guint indent, guint depth)
{
	switch (g_variant_classify(value)) {
	case G_VARIANT_CLASS_BOOLEAN:
		g_string_append(out, g_variant_get_boolean(value) ? "true" : "false");
		break;
	case G_VARIANT_CLASS_BYTE:
		g_string_append_printf(out, "%u", g_variant_get_byte(value));
		break;
	case G_VARIANT_CLASS_INT16:
		g_string_append_printf(out, "%d", g_variant_get_int16(value));
		break;
	case G_VARIANT_CLASS_UINT16:
		g_string_append_printf(out, "%u", g_variant_get_uint16(value));
		break;
	case G_VARIANT_CLASS_INT32:
		g_string_append_printf(out, "%d", g_variant_get_int32(value));
		break;
	case G_VARIANT_CLASS_UINT32:
		g_string_append_printf(out, "%u", g_variant_get_uint32(value));
		break;
	case G_VARIANT_CLASS_INT64:
		g_string_append_printf(out, "%" G_GINT64_FORMAT, g_variant_get_int64(value));
		break;
	case G_VARIANT_CLASS_UINT64:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT, g_variant_get_uint64(value));
		break;
	case G_VARIANT_CLASS_HANDLE:
		g_string_append_printf(out, "%d", g_variant_get_handle(value));
		break;
	case G_VARIANT_CLASS_DOUBLE: {
		double d = g_variant_get_double(value);
		if (!isfinite(d)) {
			g_string_append(out, "null");
		} else {
			char buf[G_ASCII_DTOSTR_BUF_SIZE];
			g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), d));
		}
		break;
	}
	case G_VARIANT_CLASS_STRING:
	case G_VARIANT_CLASS_OBJECT_PATH:
	case G_VARIANT_CLASS_SIGNATURE: {
		gsize len;
		const char *s = g_variant_get_string(value, &len);
		json_append_string(out, s, (gssize)len);
		break;
	}
	case G_VARIANT_CLASS_VARIANT: {
		g_autoptr(GVariant) inner = g_variant_get_variant(value);
		json_append_at(out, inner, indent, depth);
		break;
	}
	case G_VARIANT_CLASS_MAYBE: {
		g_autoptr(GVariant) inner = g_variant_get_maybe(value);
		if (inner == NULL)
			g_string_append(out, "null");
		else
			json_append_at(out, inner, indent, depth);
		break;
	}
	case G_VARIANT_CLASS_ARRAY:
	case G_VARIANT_CLASS_TUPLE:
	case G_VARIANT_CLASS_DICT_ENTRY:
	default:
		json_append_container(out, value, indent, depth);
		break;
	}
}

void json_append_variant(GString *out, GVariant *value, guint indent)
{
	json_append_at(out, value, indent, 0);
}
