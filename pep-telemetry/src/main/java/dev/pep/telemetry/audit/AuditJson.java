package dev.pep.telemetry.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pep.core.AuditEvent;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Encodes audit events as one line of canonical JSON each, with their place in the hash chain.
 *
 * <p>Canonical JSON: object keys sorted by their UTF-16 code units at every level, no
 * whitespace, numbers and strings as Jackson writes them after one parse. The {@code hash} of
 * an event is the lower-case hex SHA-256 of its {@code prev_hash} followed by the canonical JSON
 * of the event without {@code hash}; the first event of a gateway has {@link #GENESIS_HASH} as
 * its {@code prev_hash}. Thread-safe.
 */
public final class AuditJson {

    /** The {@code prev_hash} of a gateway's first event. */
    public static final String GENESIS_HASH = "0".repeat(64);
    /** The OCSF version the events are aligned with. */
    public static final String OCSF_VERSION = "1.3.0";

    /** The envelope keys; a type's own fields may not use them. */
    static final Set<String> RESERVED = Set.of("schema_version", "id", "type", "time", "time_dt",
            "instance", "session_id", "request_id", "seq", "prev_hash", "hash", "metadata");

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
    private static final TypeReference<LinkedHashMap<String, Object>> TREE =
            new TypeReference<>() { };

    private AuditJson() {
    }

    /**
     * The canonical JSON line of an event at position {@code seq} of its gateway's chain.
     *
     * @throws IllegalArgumentException when a field value is not a string, number, boolean,
     *     list or map with string keys, or a field uses an envelope key
     */
    public static String encode(AuditEvent event, long seq, String prevHash) {
        return chain(event, seq, prevHash).json();
    }

    /** The canonical JSON line of an event and its chain hash. */
    static Chained chain(AuditEvent event, long seq, String prevHash) {
        Map<String, Object> tree = new LinkedHashMap<>();
        boolean exact = true;
        for (Map.Entry<String, Object> field : event.fields().entrySet()) {
            if (RESERVED.contains(field.getKey())) {
                throw new IllegalArgumentException("field uses an envelope key: "
                        + field.getKey());
            }
            exact &= requireJsonValue(field.getKey(), field.getValue());
            tree.put(field.getKey(), field.getValue());
        }
        tree.put("schema_version", AuditEvent.SCHEMA_VERSION);
        tree.put("id", event.id());
        tree.put("type", event.type());
        tree.put("time", event.time().toEpochMilli());
        tree.put("time_dt", event.time().toString());
        tree.put("instance", event.instance());
        tree.put("session_id", event.sessionId());
        tree.put("request_id", event.requestId());
        tree.put("seq", seq);
        tree.put("prev_hash", prevHash);
        tree.put("metadata", Map.of(
                "uid", event.id(),
                "version", OCSF_VERSION,
                "log_name", "audit",
                "product", Map.of("name", "pep", "vendor_name", "pep")));
        // LIMITATION(L-307): pep's envelope keys sit at the top level, not under OCSF "unmapped".
        // LIMITATION(L-308): the event is serialised twice on the one writer thread.
        // A number type that does not survive a parse unchanged (a BigDecimal 1.10 reads back
        // as 1.1) is normalised by one parse, so a verifier that parses the line computes the
        // same canonical text; strings, booleans, ints, longs and doubles already do.
        Map<String, Object> normal = exact ? tree : parse(write(tree));
        String hash = hash(prevHash, write(normal));
        normal.put("hash", hash);
        return new Chained(write(normal), hash);
    }

    /** Parses one line into a tree of maps, lists, strings, numbers and booleans. */
    static Map<String, Object> parse(String line) {
        try {
            return MAPPER.readValue(line, TREE);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a JSON object: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** The canonical text of a tree. */
    static String write(Map<String, Object> tree) {
        try {
            return MAPPER.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write audit JSON", e);
        }
    }

    /** The chain hash of an event's canonical text without its hash. */
    static String hash(String prevHash, String canonicalWithoutHash) {
        return HexFormat.of().formatHex(AuditEvents.sha256(prevHash + canonicalWithoutHash));
    }

    /**
     * Checks that a value is JSON; true when it also reads back unchanged (no number type that
     * a parse turns into another text).
     */
    private static boolean requireJsonValue(String path, Object value) {
        if (value instanceof String || value instanceof Boolean || value instanceof Integer
                || value instanceof Long) {
            return true;
        }
        if (value instanceof Double d) {
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException("field " + path + " is not finite: " + d);
            }
            return true;
        }
        if (value instanceof Number) {
            return false;
        }
        if (value instanceof List<?> list) {
            boolean exact = true;
            for (int i = 0; i < list.size(); i++) {
                exact &= requireJsonValue(path + "[" + i + "]", list.get(i));
            }
            return exact;
        }
        if (value instanceof Map<?, ?> map) {
            boolean exact = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("non-string key under " + path);
                }
                exact &= requireJsonValue(path + "." + key, e.getValue());
            }
            return exact;
        }
        throw new IllegalArgumentException("field " + path + " is not a JSON value: "
                + (value == null ? "null" : value.getClass().getSimpleName()));
    }

    /** A canonical line and the chain hash it carries. */
    record Chained(String json, String hash) {
    }
}
