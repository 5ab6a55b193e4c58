package dev.pep.proxy.apps;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.core.App;
import dev.pep.policy.AppDocument;
import dev.pep.policy.PolicyError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The apps registered at run time, kept in a directory so they survive a restart: one JSON file
 * per app ({@code NAME.json}), written whole to a temporary file, forced to disk and renamed over
 * the old one, so a crash leaves the old file or the new one, never half of either. The app inside
 * is read back through {@link AppDocument}, the policy files' own checks.
 *
 * <p>Not thread-safe: its one owner calls it under a lock.
 */
// LIMITATION(L-770): each instance keeps its own registrations; instances do not share them.
public final class AppStore {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUFFIX = ".json";

    private final Path dir;

    /** A store in {@code dir}, made on the first save. */
    public AppStore(Path dir) {
        this.dir = Objects.requireNonNull(dir, "dir");
    }

    /**
     * What the directory holds.
     *
     * @param registrations the readable, valid registrations, in name order
     * @param problems one line per file that could not be read or was invalid (it is left there)
     */
    public record Contents(List<Registration> registrations, List<String> problems) {

        /** Copies. */
        public Contents {
            registrations = List.copyOf(registrations);
            problems = List.copyOf(problems);
        }
    }

    /** Reads every registration; a missing directory holds none. */
    public Contents load() throws IOException {
        List<Registration> found = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return new Contents(found, problems);
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(f -> f.getFileName().toString().endsWith(SUFFIX)).sorted().toList();
        }
        for (Path file : files) {
            try {
                found.add(read(file));
            } catch (IOException | IllegalArgumentException e) {
                problems.add(file + ": " + e.getMessage());
            }
        }
        return new Contents(found, problems);
    }

    /** Writes the registration, replacing any of the same name, atomically. */
    public void save(Registration registration) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("registered-by", registration.registeredBy());
        doc.put("registered-at", registration.registeredAt().toString());
        doc.put("app", declaration(registration.app()));
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc);
        Path file = file(registration.name());
        Path temp = dir.resolve("." + registration.name() + SUFFIX + ".tmp");
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(true);
        }
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Removes the registration of that name; does nothing when there is none. */
    public void delete(String name) throws IOException {
        Files.deleteIfExists(file(name));
    }

    /** The app as a policy file would declare it, with its name: what {@link AppDocument} reads. */
    public static Map<String, Object> declaration(App app) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", app.name());
        d.put("hosts", app.hosts());
        d.put("protocol", app.protocol().name().toLowerCase(Locale.ROOT));
        if ("connector".equals(app.upstream().getScheme())) {
            d.put("connector", app.upstream().getSchemeSpecificPart());
        } else {
            d.put("upstream", app.upstream().toString());
        }
        d.put("lifecycle", app.episodic() ? "episodic" : "permanent");
        app.expires().ifPresent(e -> d.put("expires", e.toString()));
        d.put("labels", new java.util.TreeMap<>(app.labels()));
        if (app.preamble() != dev.pep.core.StreamPreamble.NONE) {
            d.put("preamble", app.preamble().name().toLowerCase(Locale.ROOT));
        }
        return d;
    }

    private Registration read(Path file) throws IOException {
        JsonNode doc = JSON.readTree(file.toFile());
        JsonNode app = doc == null ? null : doc.get("app");
        if (app == null || !doc.path("registered-by").isTextual() || !doc.path("registered-at").isTextual()) {
            throw new IllegalArgumentException("expected registered-by, registered-at and app");
        }
        AppDocument parsed = AppDocument.parse(file.getFileName().toString(), app.toString());
        if (!parsed.valid()) {
            throw new IllegalArgumentException(String.join("; ",
                    parsed.errors().stream().map(PolicyError::toString).toList()));
        }
        String expected = parsed.app().get().name() + SUFFIX;
        if (!file.getFileName().toString().equals(expected)) {
            throw new IllegalArgumentException("holds app '" + parsed.app().get().name() + "'; expected in "
                    + expected);
        }
        try {
            return new Registration(parsed.app().get(), doc.get("registered-by").asText(),
                    Instant.parse(doc.get("registered-at").asText()));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("registered-at: expected an instant", e);
        }
    }

    private Path file(String name) {
        return dir.resolve(name + SUFFIX);
    }
}
