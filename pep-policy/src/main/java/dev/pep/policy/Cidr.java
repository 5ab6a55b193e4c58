package dev.pep.policy;

/** An address block such as {@code 203.0.113.0/24} or {@code 2001:db8::/32}. */
final class Cidr {

    private final byte[] network;
    private final int prefix;

    private Cidr(byte[] network, int prefix) {
        this.network = network;
        this.prefix = prefix;
    }

    /**
     * Parses {@code address/prefix}; a bare address is a block of one.
     *
     * @throws IllegalArgumentException if the text is not a CIDR block
     */
    static Cidr parse(String text) {
        int slash = text.indexOf('/');
        byte[] address = IpAddresses.parse(slash < 0 ? text : text.substring(0, slash));
        int bits = address.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String digits = text.substring(slash + 1);
            if (digits.isEmpty() || digits.length() > 3
                    || !digits.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not a CIDR block: " + text);
            }
            prefix = Integer.parseInt(digits);
        }
        if (prefix > bits) {
            throw new IllegalArgumentException("CIDR prefix longer than the address: " + text);
        }
        return new Cidr(address, prefix);
    }

    /** Whether the address (4 or 16 bytes) lies in this block; other families never do. */
    boolean contains(byte[] address) {
        if (address.length != network.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (address[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xFF << (8 - rest)) & 0xFF;
        return (address[full] & mask) == (network[full] & mask);
    }
}
