package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditChainVerifierTest {

    @TempDir
    Path dir;

    @Test
    void verify_untouchedChain_isIntact() {
        AuditChainVerifier.Result result = AuditChainVerifier.verifyLines(Fixtures.chainedLines(5));

        assertThat(result.intact()).isTrue();
        assertThat(result.events()).isEqualTo(5);
    }

    @Test
    void verify_editedEvent_namesTheEditedEvent() {
        List<String> lines = new ArrayList<>(Fixtures.chainedLines(5));
        lines.set(2, lines.get(2).replace("\"bytes_in\":3", "\"bytes_in\":0"));

        AuditChainVerifier.Break b = AuditChainVerifier.verifyLines(lines).firstBreak()
                .orElseThrow();

        assertThat(b.line()).isEqualTo(3);
        assertThat(b.eventId()).isEqualTo("evt-3");
        assertThat(b.problem()).contains("edited");
    }

    @Test
    void verify_removedEvent_namesTheEventAfterTheGap() {
        List<String> lines = new ArrayList<>(Fixtures.chainedLines(5));
        lines.remove(1);

        AuditChainVerifier.Break b = AuditChainVerifier.verifyLines(lines).firstBreak()
                .orElseThrow();

        assertThat(b.eventId()).isEqualTo("evt-3");
        assertThat(b.seq()).isEqualTo(3);
        assertThat(b.problem()).contains("prev_hash does not match");
    }

    @Test
    void verify_reorderedEvents_namesTheFirstOutOfPlace() {
        List<String> lines = new ArrayList<>(Fixtures.chainedLines(5));
        String third = lines.remove(2);
        lines.add(1, third);

        AuditChainVerifier.Break b = AuditChainVerifier.verifyLines(lines).firstBreak()
                .orElseThrow();

        assertThat(b.line()).isEqualTo(2);
        assertThat(b.eventId()).isEqualTo("evt-3");
    }

    @Test
    void verify_firstEventNotFromGenesis_isBroken() {
        List<String> lines = Fixtures.chainedLines(2);
        String forged = lines.get(1).replace("\"seq\":2", "\"seq\":1");

        assertThat(AuditChainVerifier.verifyLines(List.of(forged)).intact()).isFalse();
    }

    @Test
    void verify_rotatedFileStartingMidChain_isAnchoredOnItsFirstEvent() {
        List<String> lines = Fixtures.chainedLines(6);

        assertThat(AuditChainVerifier.verifyLines(lines.subList(3, 6)).intact()).isTrue();
    }

    @Test
    void command_intactFiles_exitsZero() throws Exception {
        List<String> lines = Fixtures.chainedLines(4);
        Path a = Files.write(dir.resolve("audit-1.jsonl"), lines.subList(0, 2));
        Path b = Files.write(dir.resolve("audit.jsonl"), lines.subList(2, 4));
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int status = AuditCommand.run(new String[] {"verify", a.toString(), b.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);

        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("chain intact: 4 events");
    }

    @Test
    void command_directory_verifiesRotatedFilesBySeqThenTheCurrentOne() throws Exception {
        List<String> lines = Fixtures.chainedLines(6);
        Files.write(dir.resolve(String.format("audit-%020d.jsonl", 3)), lines.subList(2, 4));
        Files.write(dir.resolve(String.format("audit-%020d.jsonl", 1)), lines.subList(0, 2));
        Files.write(dir.resolve("audit.jsonl"), lines.subList(4, 6));
        Files.writeString(dir.resolve("notes.txt"), "not an audit file");
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int status = AuditCommand.run(new String[] {"verify", dir.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);

        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("chain intact: 6 events");
    }

    @Test
    void command_directoryWithAMissingRotatedFile_exitsOne() throws Exception {
        List<String> lines = Fixtures.chainedLines(6);
        Files.write(dir.resolve(String.format("audit-%020d.jsonl", 1)), lines.subList(0, 2));
        Files.write(dir.resolve("audit.jsonl"), lines.subList(4, 6));

        int status = AuditCommand.run(new String[] {"verify", dir.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), System.err);

        assertThat(status).isEqualTo(1);
    }

    @Test
    void command_removedEvent_exitsOneAndNamesIt() throws Exception {
        List<String> lines = new ArrayList<>(Fixtures.chainedLines(4));
        lines.remove(2);
        Path file = Files.write(dir.resolve("audit.jsonl"), lines);
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int status = AuditCommand.run(new String[] {"verify", file.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);

        assertThat(status).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("event evt-4 seq 4");
    }

    @Test
    void command_dashReadsStandardInput_intactExitsZero_reorderedExitsOneNamingStdin() {
        List<String> lines = Fixtures.chainedLines(5);
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int intact = AuditCommand.run(new String[] {"verify", "-"}, stdin(lines),
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);

        assertThat(intact).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("chain intact: 5 events");
        List<String> reordered = new ArrayList<>(lines);
        java.util.Collections.swap(reordered, 1, 2);
        out.reset();
        int broken = AuditCommand.run(new String[] {"verify", "-"}, stdin(reordered),
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertThat(broken).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("chain broken at <stdin>:2 ")
                .contains("1 events verified before the break");
    }

    @Test
    void command_dashWithFiles_isAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int status = AuditCommand.run(new String[] {"verify", "-", "audit.jsonl"}, stdin(List.of()),
                System.out, new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(status).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("given alone");
    }

    private static java.io.InputStream stdin(List<String> lines) {
        String text = lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
        return new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void command_badUsageOrMissingFile_exitsTwo() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);

        assertThat(AuditCommand.run(new String[] {"check"}, System.out, errStream)).isEqualTo(2);
        assertThat(AuditCommand.run(new String[] {"verify", dir.resolve("none").toString()},
                System.out, errStream)).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("usage: pep audit verify");
    }

    @Test
    void verify_truncatedTail_isNotDetected_L300() {
        List<String> lines = Fixtures.chainedLines(5);

        assertThat(AuditChainVerifier.verifyLines(lines.subList(0, 3)).intact()).isTrue();
    }

    @Test
    void verify_chainRehashedFromTheEditOn_isNotDetected_L301() {
        List<String> lines = Fixtures.chainedLines(4);
        List<String> forged = new ArrayList<>(lines.subList(0, 2));
        String prev = String.valueOf(AuditJson.parse(lines.get(1)).get("hash"));
        for (String line : lines.subList(2, 4)) {
            java.util.Map<String, Object> tree = AuditJson.parse(line.replace(
                    "\"status_detail\":\"closed\"", "\"status_detail\":\"forged\""));
            tree.remove("hash");
            tree.put("prev_hash", prev);
            prev = AuditJson.hash(prev, AuditJson.write(tree));
            tree.put("hash", prev);
            forged.add(AuditJson.write(tree));
        }

        assertThat(forged.get(3)).contains("forged");
        assertThat(AuditChainVerifier.verifyLines(forged).intact()).isTrue();
    }
}
