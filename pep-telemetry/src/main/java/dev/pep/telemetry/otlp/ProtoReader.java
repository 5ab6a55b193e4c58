package dev.pep.telemetry.otlp;

/**
 * Reads protocol buffers wire format field by field; just enough for OTLP responses. Throws
 * {@link IllegalArgumentException} on a truncated or malformed message. Not thread-safe.
 */
final class ProtoReader {

    private final byte[] data;
    private int pos;
    private int field;
    private int wireType;

    ProtoReader(byte[] data) {
        this.data = data;
    }

    /** Moves to the next field; false at the end. */
    boolean next() {
        if (pos >= data.length) {
            return false;
        }
        long tag = varint();
        field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        return true;
    }

    int field() {
        return field;
    }

    boolean isLengthDelimited() {
        return wireType == 2;
    }

    /** The current field's varint value. */
    long varint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = read();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes");
    }

    /** The current length-delimited field's bytes. */
    byte[] bytes() {
        long length = varint();
        if (length < 0 || length > data.length - pos) {
            throw new IllegalArgumentException("field length past the end: " + length);
        }
        byte[] out = java.util.Arrays.copyOfRange(data, pos, pos + (int) length);
        pos += (int) length;
        return out;
    }

    /** Skips the current field's value. */
    void skip() {
        switch (wireType) {
            case 0 -> varint();
            case 1 -> advance(8);
            case 2 -> bytes();
            case 5 -> advance(4);
            default -> throw new IllegalArgumentException("unsupported wire type " + wireType);
        }
    }

    private void advance(int n) {
        if (n > data.length - pos) {
            throw new IllegalArgumentException("field past the end");
        }
        pos += n;
    }

    private byte read() {
        if (pos >= data.length) {
            throw new IllegalArgumentException("message ends inside a field");
        }
        return data[pos++];
    }
}
