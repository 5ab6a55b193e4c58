package dev.pep.telemetry.audit;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code pep audit} command: {@code pep audit verify FILE...} checks the hash chain of
 * JSON-lines audit files, read in the order given (oldest rotated file first).
 *
 * <p>Exit status: 0 when the chain is intact, 1 when an event breaks it (named on standard
 * output), 2 on a usage or I/O error (on standard error).
 */
public final class AuditCommand {

    static final int INTACT = 0;
    static final int BROKEN = 1;
    static final int ERROR = 2;

    private AuditCommand() {
    }

    /** Runs the command with the arguments after {@code audit}; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length < 2 || !args[0].equals("verify")) {
            err.println("usage: pep audit verify FILE...");
            return ERROR;
        }
        List<Path> files = Arrays.stream(args, 1, args.length).map(Path::of).toList();
        AuditChainVerifier.Result result;
        try {
            result = AuditChainVerifier.verify(files);
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
}
