package dev.pep.telemetry.audit;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The {@code pep audit} command: {@code pep audit verify PATH...} checks the hash chain of
 * JSON-lines audit files, read in the order given (oldest rotated file first). A directory stands
 * for the file sink's files in it: the rotated {@code audit-<seq>.jsonl} files by their first
 * seq, then the current {@code audit.jsonl}. {@code pep audit verify -} reads one stream from
 * standard input (for example {@code zcat audit-*.jsonl.gz | pep audit verify -}), line by line.
 *
 * <p>Exit status: 0 when the chain is intact, 1 when an event breaks it (named on standard
 * output), 2 on a usage or I/O error (on standard error).
 */
public final class AuditCommand {

    static final int INTACT = 0;
    static final int BROKEN = 1;
    static final int ERROR = 2;

    private static final Pattern ROTATED = Pattern.compile("audit-\\d{20}\\.jsonl");

    private AuditCommand() {
    }

    /** Runs the command with the arguments after {@code audit}, {@code -} reading standard input. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** Runs the command; {@code -} reads {@code stdin}. Returns the exit status. */
    public static int run(String[] args, InputStream stdin, PrintStream out, PrintStream err) {
        if (args.length < 2 || !args[0].equals("verify")) {
            err.println("usage: pep audit verify FILE|DIRECTORY...|-");
            return ERROR;
        }
        boolean fromStdin = List.of(args).subList(1, args.length).contains("-");
        if (fromStdin && args.length > 2) {
            err.println("usage: pep audit verify -  (standard input is one stream, given alone)");
            return ERROR;
        }
        AuditChainVerifier.Result result;
        try {
            if (fromStdin) {
                result = AuditChainVerifier.verify(stdin, "<stdin>");
            } else {
                List<Path> files = new ArrayList<>();
                for (int i = 1; i < args.length; i++) {
                    files.addAll(expand(Path.of(args[i])));
                }
                result = AuditChainVerifier.verify(files);
            }
        } catch (IOException | RuntimeException e) {
            err.println("audit verify failed: " + e.getMessage());
            return ERROR;
        }
        if (result.intact()) {
            out.println("chain intact: " + result.events() + " events");
            return INTACT;
        }
        AuditChainVerifier.Break b = result.firstBreak().orElseThrow();
        out.println("chain broken at " + b.file() + ":" + b.line() + " event " + b.eventId()
                + " seq " + b.seq() + ": " + b.problem());
        out.println(result.events() + " events verified before the break");
        return BROKEN;
    }

    /** A file as itself; a directory as the file sink's files in chain order. */
    private static List<Path> expand(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            return List.of(path);
        }
        List<Path> files;
        try (Stream<Path> listing = Files.list(path)) {
            // The seq in a rotated file's name has 20 digits, so name order is seq order.
            files = new ArrayList<>(listing.filter(f -> ROTATED.matcher(f.getFileName().toString()).matches())
                    .sorted().toList());
        }
        Path current = path.resolve("audit.jsonl");
        if (Files.exists(current)) {
            files.add(current);
        }
        if (files.isEmpty()) {
            throw new IOException("no audit files in " + path);
        }
        return files;
    }
}
