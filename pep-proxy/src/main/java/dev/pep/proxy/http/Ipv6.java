package dev.pep.proxy.http;

/** Parses an IPv6 literal (RFC 4291 2.2) and writes it in the RFC 5952 text form. */
final class Ipv6 {

    private static final int GROUPS = 8;

    private Ipv6() {
    }

    /**
     * The RFC 5952 form of an IPv6 address without brackets.
     *
     * @throws RequestRejectedException with code {@code host_invalid} when it is not one, or has
     *     a zone identifier (RFC 6874 zones mean nothing to a remote gateway)
     */
    static String normalize(String literal) {
        return format(parse(literal));
    }

    static int[] parse(String literal) {
        int gap = literal.indexOf("::");
        if (gap >= 0 && literal.indexOf("::", gap + 1) >= 0) {
            throw Authority.invalid("IPv6 literal with more than one ::");
        }
        int[] head = gap < 0 ? parseGroups(literal) : parseGroups(literal.substring(0, gap));
        int[] tail = gap < 0 ? new int[0] : parseGroups(literal.substring(gap + 2));
        int given = head.length + tail.length;
        if (gap < 0 ? given != GROUPS : given > GROUPS - 1) {
            throw Authority.invalid("IPv6 literal with the wrong number of groups");
        }
        int[] groups = new int[GROUPS];
        System.arraycopy(head, 0, groups, 0, head.length);
        System.arraycopy(tail, 0, groups, GROUPS - tail.length, tail.length);
        return groups;
    }

    /** Groups separated by single colons; the last may be a dotted quad worth two groups. */
    private static int[] parseGroups(String part) {
        if (part.isEmpty()) {
            return new int[0];
        }
        String[] pieces = part.split(":", -1);
        String last = pieces[pieces.length - 1];
        boolean embeddedIpv4 = last.indexOf('.') >= 0;
        int[] groups = new int[pieces.length + (embeddedIpv4 ? 1 : 0)];
        for (int i = 0; i < pieces.length - (embeddedIpv4 ? 1 : 0); i++) {
            groups[i] = parseGroup(pieces[i]);
        }
        if (embeddedIpv4) {
            int[] octets = parseIpv4(last);
            groups[groups.length - 2] = octets[0] << 8 | octets[1];
            groups[groups.length - 1] = octets[2] << 8 | octets[3];
        }
        return groups;
    }

    private static int parseGroup(String piece) {
        if (piece.isEmpty() || piece.length() > 4) {
            throw Authority.invalid("IPv6 group must be 1 to 4 hex digits");
        }
        int value = 0;
        for (int i = 0; i < piece.length(); i++) {
            int digit = HttpChars.hexValue(piece.charAt(i));
            if (digit < 0) {
                throw Authority.invalid("IPv6 group must be hex digits");
            }
            value = value << 4 | digit;
        }
        return value;
    }

    private static int[] parseIpv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw Authority.invalid("embedded IPv4 must be a dotted quad");
        }
        int[] octets = new int[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')
                    || !p.chars().allMatch(HttpChars::isDigit) || Integer.parseInt(p) > 255) {
                throw Authority.invalid("embedded IPv4 must be a dotted quad");
            }
            octets[i] = Integer.parseInt(p);
        }
        return octets;
    }

    /** Lower-case hex, no leading zeros, the longest run of two or more zero groups as ::. */
    static String format(int[] groups) {
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < GROUPS; i++) {
            int j = i;
            while (j < GROUPS && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = Math.max(i, j);
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < GROUPS; i++) {
            if (i == bestStart) {
                b.append("::");
                i += bestLength - 1;
                continue;
            }
            if (b.length() > 0 && b.charAt(b.length() - 1) != ':') {
                b.append(':');
            }
            b.append(Integer.toHexString(groups[i]));
        }
        return b.toString();
    }
}
