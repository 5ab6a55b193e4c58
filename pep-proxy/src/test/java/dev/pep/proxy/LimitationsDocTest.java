package dev.pep.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@code LIMITATION(L-nnn)} marks in the repository and the entries of
 * {@code docs/limitations*.md} in step (STYLE: a mark has an entry, an entry names its pin).
 */
class LimitationsDocTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern MARK = Pattern.compile("LIMITATION\\((L-\\d{3})\\)");
    private static final Pattern ENTRY = Pattern.compile("(?m)^## (L-\\d{3}):");

    @Test
    void everyMark_hasAnEntry_andEveryEntry_hasAMark() throws IOException {
        Map<String, String> marks = marks();
        Map<String, String> entries = entries();

        assertThat(marks.keySet()).as("marks in the code without an entry in docs/limitations*.md: %s", marks)
                .isSubsetOf(entries.keySet());
        assertThat(entries.keySet()).as("entries whose mark is gone from the code").isSubsetOf(marks.keySet());
    }

    @Test
    void everyEntry_namesWhatPinsIt_andNumbersAreUnique() throws IOException {
        Set<String> seen = new TreeSet<>();
        for (Path doc : docs()) {
            String text = Files.readString(doc);
            String[] parts = ENTRY.split(text);
            Matcher m = ENTRY.matcher(text);
            int i = 1;
            while (m.find()) {
                assertThat(seen.add(m.group(1))).as("%s numbered twice", m.group(1)).isTrue();
                assertThat(parts[i++]).as("%s in %s", m.group(1), doc.getFileName())
                        .contains("**Pinned by**").contains("**Would close it**");
            }
        }
        assertThat(seen).isNotEmpty();
    }

    private static Map<String, String> marks() throws IOException {
        Map<String, String> marks = new TreeMap<>();
        try (Stream<Path> files = Files.walk(ROOT)) {
            files.filter(Files::isRegularFile).filter(LimitationsDocTest::isSource).forEach(f -> {
                Matcher m = MARK.matcher(read(f));
                while (m.find()) {
                    marks.putIfAbsent(m.group(1), ROOT.relativize(f).toString());
                }
            });
        }
        return marks;
    }

    private static boolean isSource(Path f) {
        String rel = ROOT.relativize(f).toString();
        return !rel.startsWith(".git") && !rel.startsWith("docs/") && !rel.contains("/target/")
                && !rel.startsWith("target/") && !rel.contains(".pep/") && !f.getFileName().toString().equals(
                        "LimitationsDocTest.java") && !rel.endsWith(".jar") && !rel.endsWith(".md");
    }

    private static Map<String, String> entries() throws IOException {
        Map<String, String> entries = new TreeMap<>();
        for (Path doc : docs()) {
            Matcher m = ENTRY.matcher(Files.readString(doc));
            while (m.find()) {
                entries.put(m.group(1), doc.getFileName().toString());
            }
        }
        return entries;
    }

    private static Set<Path> docs() throws IOException {
        try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
            return new TreeSet<>(files.filter(f -> f.getFileName().toString().matches("limitations.*\\.md")).toList());
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (MalformedInputException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
