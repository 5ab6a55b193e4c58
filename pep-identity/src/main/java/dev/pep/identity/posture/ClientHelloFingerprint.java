package dev.pep.identity.posture;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A JA4-style fingerprint of a TLS ClientHello, read from the first bytes a client sends.
 *
 * <p>Three parts joined by {@code _}: {@code t} (TCP), the highest offered TLS version
 * ({@code 13}, {@code 12}, ...), {@code d} when the hello names a server (SNI) else {@code i},
 * the number of cipher suites and of extensions (two digits each), and the first and last
 * character of the first ALPN protocol ({@code 00} without ALPN); then the first 12 hex digits of
 * the SHA-256 of the sorted cipher suites; then those of the sorted extensions (without SNI and
 * ALPN) followed by the signature algorithms in their offered order. GREASE values (RFC 8701) are
 * left out everywhere, so a client that shuffles or greases its hello keeps its fingerprint.
 *
 * <p>Stateless and thread-safe. Input that is not a ClientHello is reported as such, never thrown.
 */
public final class ClientHelloFingerprint {

    private static final int HANDSHAKE = 22;
    private static final int CLIENT_HELLO = 1;
    private static final int EXT_SNI = 0x0000;
    private static final int EXT_ALPN = 0x0010;
    private static final int EXT_SIGNATURE_ALGORITHMS = 0x000d;
    private static final int EXT_SUPPORTED_VERSIONS = 0x002b;
    /** The largest ClientHello read; bigger ones are not fingerprinted. */
    public static final int MAX_HELLO_BYTES = 64 * 1024;

    private ClientHelloFingerprint() {
    }

    /** What the bytes read so far amount to. */
    public sealed interface Outcome {
    }

    /**
     * A complete ClientHello was read.
     *
     * @param fingerprint the JA4-style fingerprint
     * @param version the highest offered TLS version, for example {@code 1.3}
     */
    public record Complete(String fingerprint, String version) implements Outcome {
    }

    /** More bytes are needed. */
    public record NeedMore() implements Outcome {
    }

    /** The bytes are not a TLS ClientHello (or one too large or malformed to read). */
    public record NotClientHello() implements Outcome {
    }

    /**
     * Reads the TLS records at the start of a connection.
     *
     * @param data the bytes received so far, from the first one
     * @param length how many of them are valid
     */
    public static Outcome read(byte[] data, int length) {
        byte[] hello = handshakeMessage(data, length);
        if (hello == null) {
            return new NeedMore();
        }
        if (hello.length == 0) {
            return new NotClientHello();
        }
        try {
            return parse(hello);
        } catch (IndexOutOfBoundsException e) {
            return new NotClientHello();
        }
    }

    /**
     * The first handshake message, joined from as many records as it spans; null when more bytes
     * are needed; empty when the bytes are not a ClientHello.
     */
    private static byte[] handshakeMessage(byte[] data, int length) {
        byte[] message = new byte[0];
        int pos = 0;
        while (true) {
            if (length - pos < 5) {
                return length == 0 || data[0] == HANDSHAKE ? null : new byte[0];
            }
            int recordLength = u16(data, pos + 3);
            if (data[pos] != HANDSHAKE || data[pos + 1] != 3 || recordLength == 0
                    || recordLength > 16_384 + 2048) {
                return new byte[0];
            }
            if (length - pos - 5 < recordLength) {
                return null;
            }
            byte[] joined = new byte[message.length + recordLength];
            System.arraycopy(message, 0, joined, 0, message.length);
            System.arraycopy(data, pos + 5, joined, message.length, recordLength);
            message = joined;
            pos += 5 + recordLength;
            if (message.length >= 4) {
                if (message[0] != CLIENT_HELLO) {
                    return new byte[0];
                }
                int helloLength = u24(message, 1);
                if (helloLength > MAX_HELLO_BYTES) {
                    return new byte[0];
                }
                if (message.length >= 4 + helloLength) {
                    byte[] body = new byte[helloLength];
                    System.arraycopy(message, 4, body, 0, helloLength);
                    return body;
                }
            }
        }
    }

    /** Parses a ClientHello body (RFC 8446 4.1.2); a short body throws IndexOutOfBounds. */
    private static Outcome parse(byte[] b) {
        int legacyVersion = u16(b, 0);
        int pos = 2 + 32;
        pos += 1 + u8(b, pos);
        int cipherBytes = u16(b, pos);
        List<Integer> ciphers = values(b, pos + 2, cipherBytes);
        pos += 2 + cipherBytes;
        pos += 1 + u8(b, pos);
        List<Integer> extensions = new ArrayList<>();
        List<Integer> signatureAlgorithms = new ArrayList<>();
        List<Integer> versions = new ArrayList<>();
        String alpn = null;
        if (pos < b.length) {
            int end = pos + 2 + u16(b, pos);
            pos += 2;
            while (pos + 4 <= end) {
                int type = u16(b, pos);
                int len = u16(b, pos + 2);
                int data = pos + 4;
                check(b, data + len);
                extensions.add(type);
                if (type == EXT_SIGNATURE_ALGORITHMS) {
                    signatureAlgorithms = values(b, data + 2, u16(b, data));
                } else if (type == EXT_SUPPORTED_VERSIONS) {
                    versions = values(b, data + 1, u8(b, data));
                } else if (type == EXT_ALPN && len > 3) {
                    alpn = firstProtocol(b, data);
                }
                pos = data + len;
            }
        }
        return fingerprint(legacyVersion, ciphers, extensions, signatureAlgorithms, versions, alpn);
    }

    private static Outcome fingerprint(int legacyVersion, List<Integer> ciphers,
            List<Integer> extensions, List<Integer> signatureAlgorithms, List<Integer> versions,
            String alpn) {
        List<Integer> realCiphers = withoutGrease(ciphers);
        List<Integer> realExtensions = withoutGrease(extensions);
        int version = withoutGrease(versions).stream().max(Integer::compare).orElse(legacyVersion);
        String a = "t" + versionCode(version) + (realExtensions.contains(EXT_SNI) ? "d" : "i")
                + twoDigits(realCiphers.size()) + twoDigits(realExtensions.size())
                + alpnCode(alpn);
        String b = hash12(hexList(sorted(realCiphers)));
        List<Integer> hashedExtensions = sorted(realExtensions).stream()
                .filter(e -> e != EXT_SNI && e != EXT_ALPN).toList();
        List<Integer> algorithms = withoutGrease(signatureAlgorithms);
        String c = hashedExtensions.isEmpty() ? "000000000000"
                : hash12(hexList(hashedExtensions)
                        + (algorithms.isEmpty() ? "" : "_" + hexList(algorithms)));
        return new Complete(a + "_" + b + "_" + c, versionName(version));
    }

    private static String firstProtocol(byte[] b, int data) {
        int listLength = u16(b, data);
        int nameLength = u8(b, data + 2);
        if (nameLength == 0 || nameLength > listLength - 1) {
            return null;
        }
        check(b, data + 3 + nameLength);
        return new String(b, data + 3, nameLength, StandardCharsets.ISO_8859_1);
    }

    private static String alpnCode(String alpn) {
        if (alpn == null || alpn.isEmpty()) {
            return "00";
        }
        char first = alpn.charAt(0);
        char last = alpn.charAt(alpn.length() - 1);
        if (alnum(first) && alnum(last)) {
            return ("" + first + last).toLowerCase(Locale.ROOT);
        }
        // Not printable: the first and last hex digits of the protocol's bytes instead.
        String hex = HexFormat.of().formatHex(alpn.getBytes(StandardCharsets.ISO_8859_1));
        return "" + hex.charAt(0) + hex.charAt(hex.length() - 1);
    }

    private static boolean alnum(char c) {
        return c < 128 && Character.isLetterOrDigit(c);
    }

    private static String versionCode(int version) {
        return switch (version) {
            case 0x0304 -> "13";
            case 0x0303 -> "12";
            case 0x0302 -> "11";
            case 0x0301 -> "10";
            case 0x0300 -> "s3";
            default -> "00";
        };
    }

    private static String versionName(int version) {
        return switch (version) {
            case 0x0304 -> "1.3";
            case 0x0303 -> "1.2";
            case 0x0302 -> "1.1";
            case 0x0301 -> "1.0";
            default -> "unknown";
        };
    }

    /** RFC 8701: GREASE values are 0x?a?a with both bytes equal. */
    static boolean grease(int value) {
        return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff);
    }

    private static List<Integer> withoutGrease(List<Integer> values) {
        return values.stream().filter(v -> !grease(v)).toList();
    }

    private static List<Integer> sorted(List<Integer> values) {
        return values.stream().sorted().toList();
    }

    private static String twoDigits(int n) {
        return String.format(Locale.ROOT, "%02d", Math.min(n, 99));
    }

    private static String hexList(List<Integer> values) {
        return values.stream().map(v -> String.format(Locale.ROOT, "%04x", v))
                .collect(Collectors.joining(","));
    }

    private static String hash12(String text) {
        if (text.isEmpty()) {
            return "000000000000";
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(digest, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static List<Integer> values(byte[] b, int from, int byteLength) {
        check(b, from + byteLength);
        List<Integer> out = new ArrayList<>(byteLength / 2);
        for (int i = from; i + 1 < from + byteLength; i += 2) {
            out.add(u16(b, i));
        }
        return out;
    }

    private static void check(byte[] b, int end) {
        if (end > b.length) {
            throw new IndexOutOfBoundsException(end);
        }
    }

    private static int u8(byte[] b, int i) {
        check(b, i + 1);
        return b[i] & 0xff;
    }

    private static int u16(byte[] b, int i) {
        check(b, i + 2);
        return (b[i] & 0xff) << 8 | b[i + 1] & 0xff;
    }

    private static int u24(byte[] b, int i) {
        check(b, i + 3);
        return (b[i] & 0xff) << 16 | (b[i + 1] & 0xff) << 8 | b[i + 2] & 0xff;
    }
}
