package dev.pep.proxy.apps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppStoreTest {

    private static final Instant NOW = Instant.parse("2026-12-04T06:00:00Z");

    @TempDir
    Path dir;

    @Test
    void save_thenLoad_givesTheSameRegistrations_andLeavesNoTemporaryFile() throws Exception {
        AppStore store = new AppStore(dir.resolve("runtime-apps"));
        Registration direct = new Registration(app("drill", "https://10.0.0.1:8443", Optional.of(NOW.plusSeconds(60))),
                "alice", NOW);
        Registration tunnelled = new Registration(app("depot", "connector:depot-1", Optional.empty()), "bob", NOW);

        store.save(direct);
        store.save(tunnelled);
        AppStore.Contents loaded = new AppStore(dir.resolve("runtime-apps")).load();

        assertThat(loaded.problems()).isEmpty();
        assertThat(loaded.registrations()).containsExactly(tunnelled, direct);
        try (var files = Files.list(dir.resolve("runtime-apps"))) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("drill.json",
                    "depot.json");
        }
    }

    @Test
    void save_sameName_replaces_andDelete_removes() throws Exception {
        AppStore store = new AppStore(dir);
        store.save(new Registration(app("drill", "pep:echo", Optional.empty()), "alice", NOW));
        Registration second = new Registration(app("drill", "https://10.0.0.2", Optional.empty()), "bob", NOW);

        store.save(second);
        assertThat(store.load().registrations()).containsExactly(second);

        store.delete("drill");
        store.delete("drill");
        assertThat(store.load().registrations()).isEmpty();
    }

    @Test
    void load_missingDirectory_holdsNothing() throws Exception {
        assertThat(new AppStore(dir.resolve("absent")).load().registrations()).isEmpty();
    }

    @Test
    void load_invalidOrMisnamedFiles_areSkippedWithTheirProblem() throws Exception {
        AppStore store = new AppStore(dir);
        store.save(new Registration(app("good", "pep:echo", Optional.empty()), "alice", NOW));
        Files.writeString(dir.resolve("broken.json"), "{\"registered-by\": ");
        Files.writeString(dir.resolve("bad.json"), """
                {"registered-by": "alice", "registered-at": "2026-12-04T06:00:00Z",
                 "app": {"name": "bad", "hosts": ["bad.example"], "upstream": "ftp://x"}}
                """);
        Files.copy(dir.resolve("good.json"), dir.resolve("other.json"));

        AppStore.Contents loaded = store.load();

        assertThat(loaded.registrations()).extracting(Registration::name).containsExactly("good");
        assertThat(loaded.problems()).hasSize(3);
        assertThat(loaded.problems()).anySatisfy(p -> assertThat(p).contains("bad.json")
                .contains("upstream 'ftp://x': expected a URI with scheme"));
        assertThat(loaded.problems()).anySatisfy(p -> assertThat(p).contains("other.json")
                .contains("holds app 'good'"));
    }

    private static App app(String name, String upstream, Optional<Instant> expires) {
        return new App(name, List.of(name + ".example"), AppProtocol.HTTP, URI.create(upstream),
                Map.of("tier", "exercise"), expires.isPresent(), expires);
    }
}
