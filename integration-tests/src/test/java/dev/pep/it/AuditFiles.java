package dev.pep.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Reads what a gateway's file sink wrote: every line of every {@code .jsonl} file under a directory. */
final class AuditFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditFiles() {
    }

    /** The events of a type under that directory, of an app (by name) when {@code app} is not null. */
    static List<JsonNode> events(Path auditDir, String type, String app) {
        return lines(auditDir).map(AuditFiles::parse)
                .filter(e -> e.get("type").asText().equals(type))
                .filter(e -> app == null || e.toString().contains("\"name\":\"" + app + "\"")
                        || e.toString().contains("\"svc_name\":\"" + app + "\""))
                .toList();
    }

    /** The session.ended events of the sessions started for {@code app}. */
    static List<JsonNode> ended(Path auditDir, String app) {
        List<String> ids = events(auditDir, "session.started", app).stream()
                .map(e -> e.get("session_id").asText()).toList();
        return events(auditDir, "session.ended", null).stream()
                .filter(e -> ids.contains(e.get("session_id").asText())).toList();
    }

    /** How many decisions denied {@code app} with {@code reason} as their first reason. */
    static long denials(Path auditDir, String app, String reason) {
        return events(auditDir, "decision", app).stream()
                .filter(e -> e.get("decision").get("effect").asText().equals("deny"))
                .filter(e -> e.get("decision").get("reasons").get(0).get("code").asText().equals(reason))
                .count();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The audit lines under that directory, file by file; none when it does not exist yet. */
    static Stream<String> lines(Path auditDir) {
        if (!Files.isDirectory(auditDir)) {
            return Stream.empty();
        }
        try (Stream<Path> files = Files.walk(auditDir)) {
            return files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".jsonl")).sorted()
                    .flatMap(AuditFiles::read).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Stream<String> read(Path file) {
        try {
            return Files.readAllLines(file).stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
