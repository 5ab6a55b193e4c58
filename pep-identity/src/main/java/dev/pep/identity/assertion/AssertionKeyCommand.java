package dev.pep.identity.assertion;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * {@code pep assertion-key add --file FILE}: rotation of the keys that sign identity assertions.
 * Adds a new key at the end of the file (made when absent); a gateway signs with it from its next
 * start and keeps publishing the older keys until they are deleted from the file.
 */
public final class AssertionKeyCommand {

    private static final String USAGE = "usage: pep assertion-key add --file FILE\n";

    private AssertionKeyCommand() {
    }

    /**
     * Runs the command.
     *
     * @return the exit code: 0 done, 1 failed, 2 usage error
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length != 3 || !"add".equals(args[0]) || !"--file".equals(args[1])) {
            err.print(USAGE);
            return 2;
        }
        try {
            String kid = SubjectAssertionSigner.addKey(Path.of(args[2]));
            out.println("added assertion key kid=" + kid + " file=" + args[2]
                    + " (signs from the gateway's next start)");
            return 0;
        } catch (IOException e) {
            err.println("cannot add an assertion key: " + e.getMessage());
            return 1;
        }
    }
}
