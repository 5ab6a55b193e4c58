package dev.pep.proxy.http;

/** Character classes of RFC 9110 and RFC 3986 shared by the decoder and the canonicaliser. */
final class HttpChars {

    private static final String TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";

    private HttpChars() {
    }

    /** Whether {@code c} is a tchar (RFC 9110 5.6.2). */
    static boolean isTchar(int c) {
        return isAlpha(c) || isDigit(c) || (c < 128 && TCHAR_SYMBOLS.indexOf(c) >= 0);
    }

    /** Whether {@code s} is a non-empty token (RFC 9110 5.6.2). */
    static boolean isToken(CharSequence s) {
        if (s.length() == 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!isTchar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code c} is a control character (including DEL). */
    static boolean isCtl(int c) {
        return c < 0x20 || c == 0x7f;
    }

    /** Whether {@code c} is printable US-ASCII other than space (VCHAR). */
    static boolean isVchar(int c) {
        return c > 0x20 && c < 0x7f;
    }

    static boolean isAlpha(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    /** Whether {@code c} is unreserved (RFC 3986 2.3): ALPHA DIGIT - . _ ~ */
    static boolean isUnreserved(int c) {
        return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /** The value of a hex digit, or -1. */
    static int hexValue(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** Whether a field value starts or ends with SP or HTAB. */
    static boolean hasOuterWhitespace(CharSequence v) {
        if (v.length() == 0) {
            return false;
        }
        return isOws(v.charAt(0)) || isOws(v.charAt(v.length() - 1));
    }

    static boolean isOws(int c) {
        return c == ' ' || c == '\t';
    }

    /** Lower-cases ASCII letters only, so the result never depends on the default locale. */
    static String toLowerAscii(CharSequence s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c);
        }
        return b.toString();
    }
}
