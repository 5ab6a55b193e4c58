package dev.pep.policy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes policy files into a temporary directory and loads them. */
public final class PolicyDirs {

    private PolicyDirs() {
    }

    public static Path write(Path dir, String file, String content) {
        try {
            Files.writeString(dir.resolve(file), content);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static DefaultPolicyEngine engine(Path dir) {
        PolicyLoadResult result = DefaultPolicyEngine.load(dir);
        if (result instanceof PolicyLoadResult.Failed failed) {
            throw new AssertionError("policy did not load: " + failed.errors());
        }
        return ((PolicyLoadResult.Loaded) result).engine();
    }

    public static List<PolicyError> errors(Path dir) {
        PolicyLoadResult result = DefaultPolicyEngine.load(dir);
        if (result instanceof PolicyLoadResult.Failed failed) {
            return failed.errors();
        }
        throw new AssertionError("policy loaded, errors expected");
    }

    /** Apps a, b (and an episodic c expired at 2026-12-31) with one rule for a. */
    public static String oneRule(String when) {
        return """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo", labels: { tier: gold } }
                  b: { hosts: [b.example], upstream: "pep:echo" }
                rules:
                  - id: r
                    apps: [a]
                    effect: allow
                    when: '%s'
                """.formatted(when.replace("'", "''"));
    }
}
