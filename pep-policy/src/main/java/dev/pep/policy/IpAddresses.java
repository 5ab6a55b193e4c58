package dev.pep.policy;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Parses IP address literals without ever resolving a name. Public for the engines of
 * subpackages; not an API for other modules.
 */
public final class IpAddresses {

    private IpAddresses() {
    }

    /**
     * The bytes of an IPv4 or IPv6 literal (4 or 16 bytes).
     *
     * @throws IllegalArgumentException if the text is not an address literal
     */
    public static byte[] parse(String text) {
        if (text.indexOf(':') >= 0) {
            return parseV6(text);
        }
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IP address: " + text);
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            bytes[i] = (byte) octet(parts[i], text);
        }
        return bytes;
    }

    private static int octet(String part, String text) {
        if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("not an IP address: " + text);
        }
        int value = Integer.parseInt(part);
        if (value > 255) {
            throw new IllegalArgumentException("not an IP address: " + text);
        }
        return value;
    }

    private static byte[] parseV6(String text) {
        // Only hex digits, colons, dots and brackets reach InetAddress, which then parses the
        // literal itself: with a ':' present it never asks DNS.
        if (!text.matches("\\[?[0-9A-Fa-f:.]+]?")) {
            throw new IllegalArgumentException("not an IP address: " + text);
        }
        try {
            return InetAddress.getByName(text).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + text, e);
        }
    }
}
