package dev.pep.telemetry.otlp;

import java.util.HexFormat;

/**
 * The pieces of the OTLP protobuf messages that logs and traces share (common.proto,
 * resource.proto): attributes, the resource naming this gateway, the instrumentation scope.
 * Field numbers are those of opentelemetry-proto 1.x. Stateless and thread-safe.
 */
public final class Otlp {

    /** The instrumentation scope of everything pep exports. */
    public static final String SCOPE = "dev.pep";

    private Otlp() {
    }

    /** A {@code KeyValue} with a string value. */
    public static ProtoWriter attribute(String key, String value) {
        return new ProtoWriter().string(1, key).message(2, new ProtoWriter().string(1, value));
    }

    /** A {@code KeyValue} with an integer value. */
    public static ProtoWriter attribute(String key, long value) {
        return new ProtoWriter().string(1, key).message(2, new ProtoWriter().varint(3, value));
    }

    /** An {@code AnyValue} holding a string. */
    public static ProtoWriter stringValue(String value) {
        return new ProtoWriter().string(1, value);
    }

    /**
     * The {@code Resource} of a gateway: {@code service.name} {@code pep} and
     * {@code service.instance.id} the instance name.
     */
    public static ProtoWriter resource(String instance) {
        return new ProtoWriter()
                .message(1, attribute("service.name", "pep"))
                .message(1, attribute("service.instance.id", instance));
    }

    /** The {@code InstrumentationScope} named {@link #SCOPE}. */
    public static ProtoWriter scope(String version) {
        return new ProtoWriter().string(1, SCOPE).string(2, version);
    }

    /** Lower-case hex (a W3C trace or span id) as bytes; null when it is not hex of that size. */
    public static byte[] idBytes(String hex, int bytes) {
        if (hex == null || hex.length() != bytes * 2) {
            return null;
        }
        try {
            return HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
