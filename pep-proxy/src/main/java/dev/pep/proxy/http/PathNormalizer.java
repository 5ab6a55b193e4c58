package dev.pep.proxy.http;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * Normalises the path of an origin-form target so that the gateway and the application read the
 * same resource, or refuses it when they might not. The rules are listed in
 * {@code docs/request-canonicalisation.md}.
 */
final class PathNormalizer {

    /** Printable characters RFC 3986 does not allow raw in a path; they are percent-encoded. */
    private static final String ENCODE_RAW = "\"<>[]^`{|}";

    private PathNormalizer() {
    }

    /**
     * The normalised form of a path that starts with {@code /}.
     *
     * @throws RequestRejectedException when the path is ambiguous or malformed
     */
    static String normalize(String raw) {
        return removeDotSegments(decodeUnreserved(raw));
    }

    /**
     * Decodes escapes of unreserved characters, upper-cases the hex of the others and refuses
     * the characters and escapes that servers read differently.
     */
    static String decodeUnreserved(String raw) {
        StringBuilder b = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                appendEscape(raw, i, b);
                i += 2;
            } else {
                appendRaw(c, b);
            }
        }
        return b.toString();
    }

    private static void appendRaw(char c, StringBuilder b) {
        if (c > 0x7e) {
            throw rejected("target_non_ascii", "raw non-ASCII character in path");
        }
        if (c <= 0x20) {
            throw rejected("target_invalid", "whitespace or control character in path");
        }
        switch (c) {
            case '\\' -> throw rejected("backslash_in_path",
                    "backslash in path (read as a slash by some servers)");
            case ';' -> throw rejected("semicolon_in_path",
                    "semicolon in path (matrix parameters are read differently by servers)");
            case '#' -> throw rejected("fragment_in_target", "fragment in request target");
            default -> {
                if (ENCODE_RAW.indexOf(c) >= 0) {
                    b.append('%').append(String.format(Locale.ROOT, "%02X", (int) c));
                } else {
                    b.append(c);
                }
            }
        }
    }

    private static void appendEscape(String raw, int at, StringBuilder b) {
        int value = escapeValue(raw, at);
        switch (value) {
            case '/' -> throw rejected("encoded_slash", "%2F in path");
            case '\\' -> throw rejected("encoded_backslash", "%5C in path");
            case ';' -> throw rejected("encoded_semicolon", "%3B in path");
            case '#' -> throw rejected("encoded_hash", "%23 in path");
            case 0 -> throw rejected("encoded_nul", "%00 in path");
            default -> {
                // fall through to the checks below
            }
        }
        if (HttpChars.isCtl(value)) {
            throw rejected("encoded_control", "percent-encoded control character in path");
        }
        if (value == '%' && at + 4 < raw.length() && HttpChars.hexValue(raw.charAt(at + 3)) >= 0
                && HttpChars.hexValue(raw.charAt(at + 4)) >= 0) {
            throw rejected("double_encoding", "%25 followed by hex digits (double encoding)");
        }
        if (HttpChars.isUnreserved(value)) {
            b.append((char) value);
        } else {
            b.append('%').append(String.format(Locale.ROOT, "%02X", value));
        }
    }

    /**
     * The value of the escape at {@code at}, which holds {@code %}.
     *
     * @throws RequestRejectedException when two hex digits do not follow
     */
    static int escapeValue(String raw, int at) {
        if (at + 2 >= raw.length()) {
            throw rejected("invalid_percent_encoding", "truncated percent-escape");
        }
        int high = HttpChars.hexValue(raw.charAt(at + 1));
        int low = HttpChars.hexValue(raw.charAt(at + 2));
        if (high < 0 || low < 0) {
            throw rejected("invalid_percent_encoding", "percent-escape without two hex digits");
        }
        return high << 4 | low;
    }

    /**
     * RFC 3986 5.2.4 on an absolute path, with empty segments collapsed; refuses {@code ..} that
     * would climb above the root instead of clamping it, because servers disagree on clamping.
     */
    static String removeDotSegments(String path) {
        String[] segments = path.split("/", -1);
        Deque<String> kept = new ArrayDeque<>();
        boolean trailingSlash = false;
        for (int i = 1; i < segments.length; i++) {
            String segment = segments[i];
            boolean last = i == segments.length - 1;
            if (segment.equals("..")) {
                if (kept.isEmpty()) {
                    throw rejected("path_above_root", "dot segments climb above the root");
                }
                kept.removeLast();
            } else if (!segment.isEmpty() && !segment.equals(".")) {
                kept.addLast(segment);
            }
            trailingSlash = last && !segment.isEmpty() ? isDots(segment) : last;
        }
        if (kept.isEmpty()) {
            return "/";
        }
        return "/" + String.join("/", kept) + (trailingSlash ? "/" : "");
    }

    private static boolean isDots(String segment) {
        return segment.equals(".") || segment.equals("..");
    }

    private static RequestRejectedException rejected(String code, String detail) {
        return new RequestRejectedException(HttpRejection.badRequest(code, detail));
    }
}
