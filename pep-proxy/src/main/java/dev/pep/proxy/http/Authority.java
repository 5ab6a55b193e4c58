package dev.pep.proxy.http;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * A parsed and normalised {@code host [ ":" port ]} (RFC 3986 3.2.2, 3.2.3).
 *
 * <p>A reg-name is kept in lower case without a trailing dot and must be a DNS host name
 * (letters, digits, hyphens; labels of 1 to 63 characters). An IPv4 address must be a strict
 * dotted quad; a name whose last label is numeric is read as an attempt at one, so spellings such
 * as {@code 0x7f.1}, {@code 2130706433} or {@code 010.0.0.1} are refused instead of being read
 * differently by different resolvers. An IPv6 literal is written in RFC 5952 form, in brackets.
 *
 * @param host the normalised host
 * @param port the port when one was given
 */
record Authority(String host, OptionalInt port) {

    private static final int MAX_HOST_LENGTH = 253;
    private static final int MAX_LABEL_LENGTH = 63;

    Authority {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(port, "port");
    }

    /**
     * Parses an authority without userinfo.
     *
     * @throws RequestRejectedException when it is not one valid host and optional port
     */
    static Authority parse(String text) {
        if (text.isEmpty()) {
            throw invalid("empty host");
        }
        if (text.indexOf('@') >= 0) {
            throw new RequestRejectedException(HttpRejection.badRequest("host_userinfo",
                    "userinfo is not allowed in the host"));
        }
        for (int i = 0; i < text.length(); i++) {
            // LIMITATION(L-404): Unicode host names are refused, not converted to A-labels.
            if (text.charAt(i) > 0x7e) {
                throw new RequestRejectedException(HttpRejection.badRequest("host_non_ascii",
                        "host must be ASCII (send IDNA A-labels)"));
            }
        }
        if (text.charAt(0) == '[') {
            return parseBracketed(text);
        }
        int colon = text.indexOf(':');
        if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
            throw invalid("IPv6 address without brackets");
        }
        String name = colon < 0 ? text : text.substring(0, colon);
        OptionalInt port = colon < 0 ? OptionalInt.empty() : parsePort(text.substring(colon + 1));
        return new Authority(normalizeName(name), port);
    }

    /** The authority as it should appear in a Host field. */
    String text() {
        return port.isPresent() ? host + ":" + port.getAsInt() : host;
    }

    /** Whether both name the same origin under a scheme, a default port equal to none. */
    boolean sameOrigin(Authority other, String scheme) {
        return host.equals(other.host)
                && effectivePort(port, scheme) == effectivePort(other.port, scheme);
    }

    private static int effectivePort(OptionalInt port, String scheme) {
        if (port.isPresent()) {
            return port.getAsInt();
        }
        return "http".equals(scheme) ? 80 : 443;
    }

    private static Authority parseBracketed(String text) {
        int close = text.indexOf(']');
        if (close < 0) {
            throw invalid("unclosed IPv6 literal");
        }
        String literal = Ipv6.normalize(text.substring(1, close));
        String rest = text.substring(close + 1);
        if (rest.isEmpty()) {
            return new Authority("[" + literal + "]", OptionalInt.empty());
        }
        if (rest.charAt(0) != ':') {
            throw invalid("characters after IPv6 literal");
        }
        return new Authority("[" + literal + "]", parsePort(rest.substring(1)));
    }

    private static OptionalInt parsePort(String digits) {
        if (digits.isEmpty() || digits.length() > 5) {
            throw invalid("port must be 1 to 5 digits");
        }
        for (int i = 0; i < digits.length(); i++) {
            if (!HttpChars.isDigit(digits.charAt(i))) {
                throw invalid("port must be digits only");
            }
        }
        int port = Integer.parseInt(digits);
        if (port < 1 || port > 65535) {
            throw invalid("port out of range");
        }
        return OptionalInt.of(port);
    }

    private static String normalizeName(String raw) {
        String name = HttpChars.toLowerAscii(raw);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.isEmpty() || name.length() > MAX_HOST_LENGTH) {
            throw invalid("host name length");
        }
        String[] labels = name.split("\\.", -1);
        for (String label : labels) {
            checkLabel(label);
        }
        String last = labels[labels.length - 1];
        if (isAllDigits(last) || last.startsWith("0x")) {
            checkDottedQuad(labels);
        }
        return name;
    }

    private static void checkLabel(String label) {
        if (label.isEmpty() || label.length() > MAX_LABEL_LENGTH) {
            throw invalid("empty or overlong label in host name");
        }
        if (label.charAt(0) == '-' || label.charAt(label.length() - 1) == '-') {
            throw invalid("label in host name starts or ends with a hyphen");
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            // LIMITATION(L-400): host names with underscores are refused, not routed.
            if (!(c >= 'a' && c <= 'z') && !HttpChars.isDigit(c) && c != '-') {
                throw invalid("host name may hold only letters, digits, hyphens and dots");
            }
        }
    }

    /** Exactly four decimal octets 0 to 255 without leading zeros, so no resolver reads octal. */
    private static void checkDottedQuad(String[] labels) {
        if (labels.length != 4) {
            throw invalid("numeric host is not a dotted-quad IPv4 address");
        }
        for (String octet : labels) {
            boolean leadingZero = octet.length() > 1 && octet.charAt(0) == '0';
            if (!isAllDigits(octet) || octet.length() > 3 || leadingZero
                    || Integer.parseInt(octet) > 255) {
                throw invalid("numeric host is not a dotted-quad IPv4 address");
            }
        }
    }

    private static boolean isAllDigits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!HttpChars.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    static RequestRejectedException invalid(String detail) {
        return new RequestRejectedException(HttpRejection.badRequest("host_invalid", detail));
    }
}
