package dev.pep.identity.posture;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named network sets: CIDR lists in files, one block or address a line ({@code #} starts a
 * comment), IPv4 and IPv6. A lookup is a binary search over merged ranges, so long lists cost
 * little. {@link #reloadIfChanged()} re-reads the files whose time or size changed; a file that
 * no longer reads keeps its previous set and is reported. Thread-safe.
 */
public final class NetworkSets {

    private static final Logger LOG = LoggerFactory.getLogger(NetworkSets.class);
    private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    private final Map<String, Path> files;
    private final AtomicReference<Map<String, Loaded>> current = new AtomicReference<>();
    private final Map<String, Boolean> failing = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();

    private NetworkSets(Map<String, Path> files, Map<String, Loaded> loaded) {
        this.files = files;
        this.current.set(loaded);
    }

    /**
     * Reads the sets.
     *
     * @param files set name to file, in the order lookups report them
     * @throws IOException naming the file and line that cannot be read
     */
    public static NetworkSets load(Map<String, Path> files) throws IOException {
        Map<String, Path> copy = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(files));
        Map<String, Loaded> loaded = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : copy.entrySet()) {
            loaded.put(e.getKey(), read(e.getValue()));
        }
        return new NetworkSets(copy, Map.copyOf(loaded));
    }

    /** The names of the sets that contain {@code address}, sorted. */
    public Set<String> names(InetAddress address) {
        byte[] a = address.getAddress();
        Set<String> out = new TreeSet<>();
        current.get().forEach((name, set) -> {
            if (set.ranges().contains(a)) {
                out.add(name);
            }
        });
        return out;
    }

    /** The set names, in configuration order. */
    public Set<String> setNames() {
        return files.keySet();
    }

    /**
     * Whether the last check of set {@code name} read its file (or found it unchanged); false
     * while a changed file does not read and the previous set stays in force.
     */
    public boolean current(String name) {
        return files.containsKey(name) && !failing.containsKey(name);
    }

    /** How many checks of set {@code name} found a file that did not read, since start. */
    public long reloadFailures(String name) {
        AtomicLong n = failures.get(name);
        return n == null ? 0 : n.get();
    }

    /**
     * Re-reads changed files.
     *
     * @return the names of the sets that now hold new content
     */
    public List<String> reloadIfChanged() {
        Map<String, Loaded> next = new LinkedHashMap<>(current.get());
        List<String> changed = new ArrayList<>();
        files.forEach((name, file) -> {
            Loaded old = next.get(name);
            try {
                Stamp stamp = Stamp.of(file);
                if (!stamp.equals(old.stamp())) {
                    next.put(name, read(file));
                    changed.add(name);
                }
                failing.remove(name);
            } catch (IOException e) {
                failing.put(name, Boolean.TRUE);
                failures.computeIfAbsent(name, n -> new AtomicLong())
                        .incrementAndGet();
                LOG.warn("network set reload refused, keeping previous set name={} error={}",
                        name, e.getMessage());
            }
        });
        if (!changed.isEmpty()) {
            current.set(Map.copyOf(next));
            LOG.info("network sets reloaded sets={}", changed);
        }
        return changed;
    }

    private static Loaded read(Path file) throws IOException {
        Stamp stamp = Stamp.of(file);
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<byte[][]> v4 = new ArrayList<>();
        List<byte[][]> v6 = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            byte[][] range = range(line, file, i + 1);
            (range[0].length == 4 ? v4 : v6).add(range);
        }
        return new Loaded(new Ranges(merge(v4), merge(v6)), stamp);
    }

    /** The first and last address of a block, or of a single address. */
    static byte[][] range(String text, Path file, int line) throws IOException {
        String[] parts = text.split("/", -1);
        String where = file + ":" + line + ": '" + text + "'";
        if (parts.length > 2) {
            throw new IOException(where + " is not a CIDR block; expected 10.0.0.0/8 or 2001:db8::/32");
        }
        byte[] address = literal(parts[0], where);
        int bits = address.length * 8;
        int prefix = bits;
        if (parts.length == 2) {
            try {
                prefix = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > bits) {
                throw new IOException(where + ": prefix length must be 0 to " + bits);
            }
        }
        byte[] first = address.clone();
        byte[] last = address.clone();
        for (int bit = prefix; bit < bits; bit++) {
            first[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
            last[bit / 8] |= (byte) (0x80 >>> (bit % 8));
        }
        return new byte[][] {first, last};
    }

    private static byte[] literal(String text, String where) throws IOException {
        // Only literals: a name here must never cause a DNS lookup.
        boolean v4 = IPV4.matcher(text).matches();
        if (!v4 && !IPV6.matcher(text).matches()) {
            throw new IOException(where + " is not an IP address or CIDR block");
        }
        try {
            byte[] a = InetAddress.getByName(text).getAddress();
            if (v4 != (a.length == 4)) {
                throw new IOException(where + " mixes address families");
            }
            return a;
        } catch (java.net.UnknownHostException e) {
            throw new IOException(where + " is not an IP address or CIDR block");
        }
    }

    private static byte[][][] merge(List<byte[][]> ranges) {
        ranges.sort(Comparator.comparing((byte[][] r) -> r[0], Arrays::compareUnsigned));
        List<byte[][]> merged = new ArrayList<>();
        for (byte[][] r : ranges) {
            byte[][] lastRange = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (lastRange != null && Arrays.compareUnsigned(r[0], lastRange[1]) <= 0) {
                if (Arrays.compareUnsigned(r[1], lastRange[1]) > 0) {
                    lastRange[1] = r[1];
                }
            } else {
                merged.add(new byte[][] {r[0], r[1].clone()});
            }
        }
        return merged.toArray(new byte[0][][]);
    }

    /** Sorted, non-overlapping ranges per family. */
    private record Ranges(byte[][][] v4, byte[][][] v6) {

        boolean contains(byte[] address) {
            byte[][][] ranges = address.length == 4 ? v4 : v6;
            int lo = 0;
            int hi = ranges.length - 1;
            // The last range starting at or below the address is the only one that can hold it.
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (Arrays.compareUnsigned(ranges[mid][0], address) <= 0) {
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            return hi >= 0 && Arrays.compareUnsigned(address, ranges[hi][1]) <= 0;
        }
    }

    private record Loaded(Ranges ranges, Stamp stamp) {
    }

    private record Stamp(FileTime modified, long size) {
        static Stamp of(Path file) throws IOException {
            return new Stamp(Files.getLastModifiedTime(file), Files.size(file));
        }
    }
}
