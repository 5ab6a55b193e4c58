package dev.pep.it;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A network namespace joined to this one by a veth pair: inside it, only its own loopback and
 * the inner end of the pair. An app bound to the namespace's loopback is unreachable from here
 * by construction. Needs root and iproute2; {@link #tryCreate} answers null where they are not.
 */
final class Netns implements AutoCloseable {

    private final String name;
    private final String hostAddress;
    private final String innerAddress;

    private Netns(String name, String hostAddress, String innerAddress) {
        this.name = name;
        this.hostAddress = hostAddress;
        this.innerAddress = innerAddress;
    }

    /** A fresh namespace, or null when this machine does not let the test make one. */
    static Netns tryCreate() {
        int id = ThreadLocalRandom.current().nextInt(1, 250);
        int tag = ThreadLocalRandom.current().nextInt(100_000, 999_999);
        String name = "pep-it-" + tag;
        String hostIf = "pepv" + tag;
        String innerIf = "pepn" + tag;
        String host = "10.213." + id + ".1";
        String inner = "10.213." + id + ".2";
        Netns ns = new Netns(name, host, inner);
        try {
            run("ip", "netns", "add", name);
            run("ip", "link", "add", hostIf, "type", "veth", "peer", "name", innerIf);
            run("ip", "link", "set", innerIf, "netns", name);
            run("ip", "addr", "add", host + "/30", "dev", hostIf);
            run("ip", "link", "set", hostIf, "up");
            run("ip", "netns", "exec", name, "ip", "addr", "add", inner + "/30", "dev", innerIf);
            run("ip", "netns", "exec", name, "ip", "link", "set", innerIf, "up");
            run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
            return ns;
        } catch (IOException | InterruptedException | RuntimeException e) {
            ns.close();
            return null;
        }
    }

    /** The host end's address: where the namespace reaches this side. */
    String hostAddress() {
        return hostAddress;
    }

    /** The namespace end's address. */
    String innerAddress() {
        return innerAddress;
    }

    /** The command prefix that runs a program inside. */
    List<String> exec() {
        return List.of("ip", "netns", "exec", name);
    }

    @Override
    public void close() {
        try {
            // Deleting the namespace deletes the inner end of the pair, and with it the host end.
            run("ip", "netns", "del", name);
        } catch (IOException | InterruptedException | RuntimeException e) {
            // Already gone, or never made.
        }
    }

    private static void run(String... command) throws IOException, InterruptedException {
        ToolResult r = ToolResult.run(new ProcessBuilder(new ArrayList<>(List.of(command))), new byte[0],
                Duration.ofSeconds(20));
        if (r.exitCode() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + r.stderr());
        }
    }
}
