package dev.pep.proxy.config;

import com.fasterxml.jackson.annotation.JsonCreator;

/**
 * A size in bytes, written in config files as {@code 512}, {@code 8KiB}, {@code 10MiB}.
 *
 * @param bytes never negative
 */
public record ByteSize(long bytes) {

    /** Validates. */
    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size: " + bytes);
        }
    }

    /** Parses the config spelling. */
    @JsonCreator
    public static ByteSize parse(String text) {
        return new ByteSize(Units.size(text));
    }

    /** A size written as a bare number of bytes ({@code max-header-list-size: 16384}). */
    @JsonCreator
    public static ByteSize ofBytes(long bytes) {
        return new ByteSize(bytes);
    }

    /** A size of that many KiB. */
    public static ByteSize kib(long n) {
        return new ByteSize(n << 10);
    }

    /** A size of that many MiB. */
    public static ByteSize mib(long n) {
        return new ByteSize(n << 20);
    }

    /** The size as an int, for APIs that take one; throws when it does not fit. */
    public int intValue() {
        return Math.toIntExact(bytes);
    }
}
