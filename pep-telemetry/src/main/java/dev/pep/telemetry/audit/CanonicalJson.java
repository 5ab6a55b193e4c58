package dev.pep.telemetry.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a tree of maps, lists, strings, numbers and booleans as canonical JSON: keys sorted by
 * UTF-16 code units at every level, no whitespace, Jackson's escaping. Stateless.
 */
final class CanonicalJson {

    private static final JsonFactory FACTORY = new JsonFactory();

    private CanonicalJson() {
    }

    /** The canonical text of a tree. */
    static String write(Map<String, ?> tree) {
        return write(tree, null).json();
    }

    /**
     * The canonical text of a tree, and where a top-level entry named {@code splitKey} (absent
     * from the tree) would go, so it can be added without writing the tree again.
     */
    static Text write(Map<String, ?> tree, String splitKey) {
        StringWriter out = new StringWriter(1024);
        int split = -1;
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            for (String key : sortedKeys(tree)) {
                if (split < 0 && splitKey != null && key.compareTo(splitKey) > 0) {
                    g.flush();
                    split = out.getBuffer().length();
                }
                g.writeFieldName(key);
                value(g, tree.get(key));
            }
            if (split < 0 && splitKey != null) {
                g.flush();
                split = out.getBuffer().length();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write audit JSON", e);
        }
        return new Text(out.toString(), split);
    }

    /** The text with a top-level string entry added at {@link Text#split()}. */
    static String withEntry(Text text, String key, String asciiValue) {
        String prefix = text.json().substring(0, text.split());
        String rest = text.json().substring(text.split());
        String entry = "\"" + key + "\":\"" + asciiValue + "\"";
        if (prefix.endsWith("{")) {
            return prefix + entry + (rest.equals("}") ? "" : ",") + rest;
        }
        return prefix + "," + entry + rest;
    }

    private static void value(JsonGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte) {
            g.writeNumber(((Number) v).longValue());
        } else if (v instanceof Double d) {
            g.writeNumber(d);
        } else if (v instanceof Float f) {
            g.writeNumber(f);
        } else if (v instanceof BigInteger i) {
            g.writeNumber(i);
        } else if (v instanceof BigDecimal d) {
            g.writeNumber(d);
        } else if (v instanceof Number n) {
            g.writeNumber(n.toString());
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            @SuppressWarnings("unchecked")
            Map<String, ?> map = (Map<String, ?>) m;
            for (String key : sortedKeys(map)) {
                g.writeFieldName(key);
                value(g, map.get(key));
            }
            g.writeEndObject();
        } else if (v instanceof List<?> list) {
            g.writeStartArray();
            for (Object item : list) {
                value(g, item);
            }
            g.writeEndArray();
        } else {
            throw new IllegalArgumentException("not a JSON value: " + v.getClass().getSimpleName());
        }
    }

    private static List<String> sortedKeys(Map<String, ?> map) {
        List<String> keys = new ArrayList<>(map.keySet());
        keys.sort(null);
        return keys;
    }

    /**
     * Canonical text and a split offset.
     *
     * @param json the text
     * @param split the offset of the split key's place; -1 when none was asked
     */
    record Text(String json, int split) {
    }
}
