package dev.pep.proxy.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Where each key of a YAML document stands, by dotted path ({@code apps.demo.hosts.0}), so that
 * problems found after binding can still name a line and column.
 */
final class KeyLocations {

    private final Map<String, int[]> positions;

    private KeyLocations(Map<String, int[]> positions) {
        this.positions = positions;
    }

    /** Indexes a document; a document that does not parse yields an empty index. */
    static KeyLocations index(String yaml) {
        Map<String, int[]> positions = new HashMap<>();
        try (JsonParser p = new YAMLFactory().createParser(yaml)) {
            walk(p, positions);
        } catch (IOException | RuntimeException e) {
            // The binder reports the syntax error with its position; keep what was indexed.
        }
        return new KeyLocations(positions);
    }

    /** The 1-based {line, column} of exactly that key, or null. */
    int[] exact(String path) {
        return positions.get(path);
    }

    /** The 1-based {line, column} of a key, or of its nearest indexed parent; {0, 0} if none. */
    int[] of(String path) {
        String p = path;
        while (!p.isEmpty()) {
            int[] pos = positions.get(p);
            if (pos != null) {
                return pos;
            }
            int dot = p.lastIndexOf('.');
            p = dot < 0 ? "" : p.substring(0, dot);
        }
        return new int[] {0, 0};
    }

    private static void walk(JsonParser p, Map<String, int[]> positions) throws IOException {
        Deque<Frame> stack = new ArrayDeque<>();
        JsonToken t;
        while ((t = p.nextToken()) != null) {
            switch (t) {
                case FIELD_NAME -> {
                    Frame f = stack.peek();
                    f.pendingKey = join(f.path, p.currentName());
                    record(positions, f.pendingKey, p.currentTokenLocation());
                }
                case START_OBJECT, START_ARRAY ->
                        stack.push(new Frame(valuePath(stack, p, positions), t == JsonToken.START_ARRAY));
                case END_OBJECT, END_ARRAY -> {
                    stack.pop();
                    advance(stack);
                }
                default -> {
                    valuePath(stack, p, positions);
                    advance(stack);
                }
            }
        }
    }

    /** The path of the value at the parser's token; array elements are indexed by position. */
    private static String valuePath(Deque<Frame> stack, JsonParser p, Map<String, int[]> positions) {
        Frame f = stack.peek();
        if (f == null) {
            return "";
        }
        if (!f.array) {
            return f.pendingKey;
        }
        String path = join(f.path, Integer.toString(f.index));
        record(positions, path, p.currentTokenLocation());
        return path;
    }

    private static void record(Map<String, int[]> positions, String path, JsonLocation loc) {
        positions.putIfAbsent(path, new int[] {loc.getLineNr(), loc.getColumnNr()});
    }

    private static void advance(Deque<Frame> stack) {
        Frame f = stack.peek();
        if (f != null && f.array) {
            f.index++;
        }
    }

    private static String join(String parent, String key) {
        return parent.isEmpty() ? key : parent + "." + key;
    }

    private static final class Frame {
        final String path;
        final boolean array;
        String pendingKey = "";
        int index;

        Frame(String path, boolean array) {
            this.path = path;
            this.array = array;
        }
    }
}
