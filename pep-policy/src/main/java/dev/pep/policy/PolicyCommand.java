package dev.pep.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The policy admin tools, run by {@code pep policy ...}.
 *
 * <pre>
 *   validate DIR                                 exit 0 when valid, 1 with every error
 *   test DIR [--policies POLICY_DIR]             run the policy tests in DIR (default policies:
 *                                                DIR/../policies); exit 0 when all pass
 *   explain --policies DIR --request FILE.json   print the decision and every rule considered
 * </pre>
 *
 * <p>Exit 2 for a usage error. Never throws for bad input; prints to {@code err} instead.
 */
public final class PolicyCommand {

    private static final String USAGE = "usage: policy validate DIR | policy test DIR "
            + "[--policies POLICY_DIR] | policy explain --policies DIR --request FILE.json";

    private PolicyCommand() {
    }

    /**
     * Runs one admin command.
     *
     * @param args the command and its arguments, without the leading {@code policy}
     * @param out where results go
     * @param err where errors go
     * @return the exit code: 0 success, 1 invalid policy or failed tests, 2 usage error
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Clock.systemUTC());
    }

    static int run(String[] args, PrintStream out, PrintStream err, Clock clock) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        try {
            return switch (args[0]) {
                case "validate" -> args.length == 2 ? validate(Path.of(args[1]), out, err)
                        : usage(err);
                case "test" -> test(args, out, err, clock);
                case "explain" -> explain(args, out, err, clock);
                default -> usage(err);
            };
        } catch (IllegalArgumentException | IOException e) {
            err.println("error: " + e.getMessage());
            return 1;
        }
    }

    private static int validate(Path dir, PrintStream out, PrintStream err) {
        PolicyLoadResult result = DefaultPolicyEngine.load(dir);
        if (result instanceof PolicyLoadResult.Loaded loaded) {
            out.println("valid: " + loaded.engine().apps().size() + " apps, version "
                    + loaded.engine().version());
            return 0;
        }
        List<PolicyError> errors = ((PolicyLoadResult.Failed) result).errors();
        errors.forEach(err::println);
        err.println(errors.size() + " error(s)");
        return 1;
    }

    private static int test(String[] args, PrintStream out, PrintStream err, Clock clock)
            throws IOException {
        if (args.length != 2 && !(args.length == 4 && args[2].equals("--policies"))) {
            return usage(err);
        }
        Path tests = Path.of(args[1]);
        Path policies = args.length == 4 ? Path.of(args[3])
                : tests.toAbsolutePath().getParent().resolve("policies");
        DefaultPolicyEngine engine = loadOrReport(policies, err);
        if (engine == null) {
            return 1;
        }
        PolicyTestRunner.Summary summary =
                new PolicyTestRunner(engine, clock).runDirectory(tests, out);
        out.println(summary.passed() + " passed, " + summary.failed() + " failed");
        if (summary.passed() + summary.failed() == 0) {
            err.println("no tests found in " + tests);
            return 1;
        }
        return summary.failed() == 0 ? 0 : 1;
    }

    private static int explain(String[] args, PrintStream out, PrintStream err, Clock clock)
            throws IOException {
        Path policies = option(args, "--policies");
        Path request = option(args, "--request");
        if (policies == null || request == null || args.length != 5) {
            return usage(err);
        }
        DefaultPolicyEngine engine = loadOrReport(policies, err);
        if (engine == null) {
            return 1;
        }
        JsonNode doc = mapperFor(request).readTree(request.toFile());
        AccessRequest access = RequestDocument.parse(doc, appsOf(engine), clock.instant());
        out.print(engine.explain(access).toText());
        return 0;
    }

    static Function<String, Optional<App>> appsOf(DefaultPolicyEngine engine) {
        return name -> engine.apps().stream().filter(a -> a.name().equals(name)).findFirst();
    }

    static ObjectMapper mapperFor(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(".json") ? new ObjectMapper() : new YAMLMapper();
    }

    private static DefaultPolicyEngine loadOrReport(Path policies, PrintStream err) {
        PolicyLoadResult result = DefaultPolicyEngine.load(policies);
        if (result instanceof PolicyLoadResult.Failed failed) {
            failed.errors().forEach(err::println);
            err.println(failed.errors().size() + " error(s) in " + policies);
            return null;
        }
        return ((PolicyLoadResult.Loaded) result).engine();
    }

    private static Path option(String[] args, String name) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals(name) && Files.exists(Path.of(args[i + 1]))) {
                return Path.of(args[i + 1]);
            }
            if (args[i].equals(name)) {
                throw new IllegalArgumentException(name + " " + args[i + 1] + ": no such file");
            }
        }
        return null;
    }

    private static int usage(PrintStream err) {
        err.println(USAGE);
        return 2;
    }
}
