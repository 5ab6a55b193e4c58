package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.PostureSignal;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.core.Credentials;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetworkSetsTest {

    @TempDir
    Path dir;

    Path file(String name, String content) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    NetworkSets sets() throws Exception {
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("partner-vpn", file("vpn.txt", "# the partner VPN egress\n198.51.100.0/24\n"
                + "2001:db8:42::/48  # v6 egress\n\n203.0.113.7\n"));
        files.put("sanctioned", file("sanctioned.txt", "203.0.113.0/24\n10.0.0.0/8\n10.1.0.0/16\n"));
        return NetworkSets.load(files);
    }

    @Test
    void names_addressesInAndOutOfSets() throws Exception {
        NetworkSets sets = sets();

        assertThat(sets.names(ip("198.51.100.255"))).containsExactly("partner-vpn");
        assertThat(sets.names(ip("198.51.101.0"))).isEmpty();
        assertThat(sets.names(ip("203.0.113.7"))).containsExactly("partner-vpn", "sanctioned");
        assertThat(sets.names(ip("203.0.113.8"))).containsExactly("sanctioned");
        assertThat(sets.names(ip("10.255.255.255"))).containsExactly("sanctioned");
        assertThat(sets.names(ip("11.0.0.0"))).isEmpty();
        assertThat(sets.names(ip("2001:db8:42:ffff::1"))).containsExactly("partner-vpn");
        assertThat(sets.names(ip("2001:db8:43::1"))).isEmpty();
    }

    @Test
    void reloadIfChanged_newContent_usedAndReported() throws Exception {
        NetworkSets sets = sets();
        Path vpn = dir.resolve("vpn.txt");
        Files.writeString(vpn, "192.0.2.0/24\n");
        Files.setLastModifiedTime(vpn, FileTime.from(Instant.now().plusSeconds(5)));

        assertThat(sets.reloadIfChanged()).containsExactly("partner-vpn");
        assertThat(sets.names(ip("192.0.2.1"))).containsExactly("partner-vpn");
        assertThat(sets.names(ip("198.51.100.1"))).isEmpty();
        assertThat(sets.reloadIfChanged()).isEmpty();
    }

    @Test
    void reloadIfChanged_brokenFile_keepsPreviousSet() throws Exception {
        NetworkSets sets = sets();
        Path vpn = dir.resolve("vpn.txt");
        Files.writeString(vpn, "198.51.100.0/33\n");
        Files.setLastModifiedTime(vpn, FileTime.from(Instant.now().plusSeconds(5)));

        assertThat(sets.reloadIfChanged()).isEmpty();
        assertThat(sets.names(ip("198.51.100.9"))).containsExactly("partner-vpn");
    }

    @Test
    void current_brokenFileThenFixed_flipsForThatSetOnly() throws Exception {
        NetworkSets sets = sets();
        assertThat(sets.current("partner-vpn")).isTrue();
        Path vpn = dir.resolve("vpn.txt");
        Files.writeString(vpn, "198.51.100.0/33\n");
        Files.setLastModifiedTime(vpn, FileTime.from(Instant.now().plusSeconds(5)));

        sets.reloadIfChanged();
        assertThat(sets.current("partner-vpn")).isFalse();
        assertThat(sets.reloadFailures("partner-vpn")).isEqualTo(1);
        assertThat(sets.setNames()).allMatch(n -> n.equals("partner-vpn") || sets.current(n));

        Files.writeString(vpn, "192.0.2.0/24\n");
        Files.setLastModifiedTime(vpn, FileTime.from(Instant.now().plusSeconds(10)));
        sets.reloadIfChanged();
        assertThat(sets.current("partner-vpn")).isTrue();
        assertThat(sets.current("no-such-set")).isFalse();
    }

    @Test
    void load_badLine_namesFileLineAndValue() throws Exception {
        Path bad = file("bad.txt", "10.0.0.0/8\n\nvpn.example.org\n");

        assertThatThrownBy(() -> NetworkSets.load(Map.of("bad", bad)))
                .hasMessageContaining("bad.txt:3").hasMessageContaining("vpn.example.org");
    }

    @Test
    void provider_matchingSets_signalPerSet() throws Exception {
        var provider = new NetworkSetProvider("networks", sets());
        Credentials c = new Credentials("h.example", Map.of(), List.of(), Optional.empty(),
                new Source(ip("203.0.113.7"), 1234, Set.of()), Instant.now());

        List<PostureSignal> signals = provider.assess(Subject.anonymous(), c).toCompletableFuture().join();

        assertThat(signals).extracting(PostureSignal::name)
                .containsExactly("network.partner-vpn", "network.sanctioned");
        assertThat(signals).allMatch(s -> Boolean.TRUE.equals(s.value()) && s.source().equals("networks"));
    }
}
