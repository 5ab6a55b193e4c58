package dev.pep.proxy.http;

/**
 * Size limits for {@link StrictHttpRequestDecoder}; every limit is enforced before the bytes it
 * bounds are buffered in full.
 *
 * @param maxRequestLineLength longest request line without its CRLF; longer is answered 414
 * @param maxHeaderSectionSize most bytes of header lines (CRLFs included) of one request, and
 *     separately of one trailer section; more is answered 431
 * @param maxHeaderCount most header lines of one request, and of one trailer section; more is
 *     answered 431
 * @param maxChunkSize largest body slice emitted as one {@code HttpContent}; larger bodies and
 *     chunks are emitted in several slices, so this bounds memory, not the body size
 */
public record Http1Limits(
        int maxRequestLineLength,
        int maxHeaderSectionSize,
        int maxHeaderCount,
        int maxChunkSize) {

    /** 8 KiB request line, 32 KiB header section, 100 header lines, 64 KiB body slices. */
    public static final Http1Limits DEFAULTS = new Http1Limits(8 * 1024, 32 * 1024, 100, 64 * 1024);

    /** Validates that every limit is positive. */
    public Http1Limits {
        requirePositive("maxRequestLineLength", maxRequestLineLength);
        requirePositive("maxHeaderSectionSize", maxHeaderSectionSize);
        requirePositive("maxHeaderCount", maxHeaderCount);
        requirePositive("maxChunkSize", maxChunkSize);
    }

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }
}
